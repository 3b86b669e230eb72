// The connection to the Attach hub (/hubs/attach on the gateway, forwarded to the broker). It stays subscribed
// to the kernels it is given, reconnects by itself for as long as the page lives, and says when it cannot.
import {
  HubConnection,
  HubConnectionBuilder,
  HubConnectionState,
  IRetryPolicy,
  LogLevel,
  RetryContext
} from '@microsoft/signalr';
import { ISignal, Signal } from '@lumino/signaling';
import { IKernelStateChanged, IKernelStatus } from './status';

/** What the status item needs from a hub; the unit tests give it a fake. */
export interface IAttachHub {
  /** A subscribed kernel's status changed (also after each (re)subscribe, with the status the hub returned). */
  readonly statusChanged: ISignal<IAttachHub, IKernelStatus>;
  /** Whether the hub is reachable now. */
  readonly available: boolean;
  readonly availableChanged: ISignal<IAttachHub, boolean>;
  /** Receive this kernel's changes (it must be the user's own: the hub never sends another user's). */
  subscribe(kernelId: string): void;
  unsubscribe(kernelId: string): void;
}

/** Retries for as long as the page lives: quickly at first, then every 10 s. */
export class ForeverRetryPolicy implements IRetryPolicy {
  nextRetryDelayInMilliseconds(context: RetryContext): number {
    return Math.min(500 * 2 ** context.previousRetryCount, 10_000);
  }
}

/** Hub method and event names (Attach.Contracts.Hubs.AttachHubProtocol). */
export const HubProtocol = {
  path: 'hubs/attach',
  subscribeKernel: 'SubscribeKernel',
  unsubscribeKernel: 'UnsubscribeKernel',
  kernelStateChanged: 'KernelStateChanged'
} as const;

export class AttachHubConnection implements IAttachHub {
  private readonly _connection: HubConnection;
  private readonly _kernels = new Set<string>();
  private readonly _statusChanged = new Signal<IAttachHub, IKernelStatus>(this);
  private readonly _availableChanged = new Signal<IAttachHub, boolean>(this);
  private readonly _retry = new ForeverRetryPolicy();
  private _available = false;
  private _disposed = false;

  /** @param url the hub's absolute URL, e.g. `${baseUrl}hubs/attach`; the browser's session cookie authenticates. */
  constructor(url: string) {
    this._connection = new HubConnectionBuilder()
      .withUrl(url, { withCredentials: true })
      .withAutomaticReconnect(this._retry)
      .configureLogging(LogLevel.Warning)
      .build();
    this._connection.on(HubProtocol.kernelStateChanged, (change: IKernelStateChanged) => {
      if (this._kernels.has(change.kernelId)) {
        this._statusChanged.emit(change.status);
      }
    });
    this._connection.onreconnecting(() => this._setAvailable(false));
    // Groups live on the server connection: a new connection must subscribe again.
    this._connection.onreconnected(() => void this._subscribeAll());
    // Automatic reconnect gave up, or the first start failed: start again, forever.
    this._connection.onclose(() => {
      this._setAvailable(false);
      void this._startLoop(0);
    });
    void this._startLoop(0);
  }

  get statusChanged(): ISignal<IAttachHub, IKernelStatus> {
    return this._statusChanged;
  }

  get available(): boolean {
    return this._available;
  }

  get availableChanged(): ISignal<IAttachHub, boolean> {
    return this._availableChanged;
  }

  subscribe(kernelId: string): void {
    if (this._kernels.has(kernelId)) {
      return;
    }
    this._kernels.add(kernelId);
    if (this._connection.state === HubConnectionState.Connected) {
      void this._subscribeOne(kernelId);
    }
  }

  unsubscribe(kernelId: string): void {
    if (!this._kernels.delete(kernelId)) {
      return;
    }
    if (this._connection.state === HubConnectionState.Connected) {
      this._connection.invoke(HubProtocol.unsubscribeKernel, kernelId).catch(() => undefined);
    }
  }

  dispose(): void {
    this._disposed = true;
    void this._connection.stop();
    Signal.clearData(this);
  }

  private async _startLoop(attempt: number): Promise<void> {
    while (!this._disposed && this._connection.state === HubConnectionState.Disconnected) {
      try {
        await this._connection.start();
        await this._subscribeAll();
        return;
      } catch {
        this._setAvailable(false);
        const delay = this._retry.nextRetryDelayInMilliseconds({ previousRetryCount: attempt++, elapsedMilliseconds: 0, retryReason: new Error('start') });
        await new Promise(resolve => setTimeout(resolve, delay));
      }
    }
  }

  private async _subscribeAll(): Promise<void> {
    await Promise.all([...this._kernels].map(id => this._subscribeOne(id)));
    this._setAvailable(this._connection.state === HubConnectionState.Connected);
  }

  private async _subscribeOne(kernelId: string): Promise<void> {
    try {
      const status = await this._connection.invoke<IKernelStatus>(HubProtocol.subscribeKernel, kernelId);
      if (this._kernels.has(kernelId)) {
        this._statusChanged.emit(status);
      }
    } catch (error) {
      console.warn(`Attach: could not subscribe to kernel ${kernelId}:`, error);
    }
  }

  private _setAvailable(value: boolean): void {
    if (this._available !== value) {
      this._available = value;
      this._availableChanged.emit(value);
    }
  }
}
