// The gateway's /hubs/attach as a set of kernel subscriptions that survive reconnects. It never gives up: when
// the hub cannot be reached, listeners hear `available = false` and the connection keeps retrying (1 s, 2 s,
// 4 s … at most 10 s apart); once it is back every kernel is subscribed again and its status fetched afresh.
import { HubConnectionBuilder, HubConnectionState, LogLevel } from '@microsoft/signalr';

const MAX_DELAY_MS = 10000;

function delayFor(attempt) {
  return Math.min(1000 * 2 ** Math.min(attempt, 4), MAX_DELAY_MS);
}

// The gateway refused the negotiation with 401 (no gateway identity, or an expired one): the client library reports
// it as an HttpError, or wrapped in its negotiation error, whose message ends in "Status code '401'".
function isUnauthorized(error) {
  return Boolean(error) && (error.statusCode === 401 || /Status code '401'/.test(String(error.message)));
}

export class KernelHub {
  /**
   * @param {string} url the hub's URL (same origin as the page)
   * @param {{ onStatus: (status: object) => void, onAvailability: (available: boolean) => void,
   *   onUnauthorized?: () => Promise<boolean> }} listener onUnauthorized, when the gateway answers 401, may get the
   *   page an identity (a JupyterHub route's) and says whether to try again; false stops the retries
   */
  constructor(url, listener) {
    this.listener = listener;
    this.kernels = new Set();
    this.available = false;
    this.connection = new HubConnectionBuilder()
      .withUrl(url, { withCredentials: true })
      // A 401 ends the automatic reconnects: startLater() asks the listener for an identity before trying again.
      .withAutomaticReconnect({
        nextRetryDelayInMilliseconds: (ctx) =>
          (this.listener.onUnauthorized && isUnauthorized(ctx.retryReason) ? null : delayFor(ctx.previousRetryCount)),
      })
      // The host page's console is not ours to fill.
      .configureLogging(LogLevel.None)
      .build();
    this.connection.on('KernelStateChanged', (change) => {
      if (change && change.status && this.kernels.has(change.kernelId)) {
        this.listener.onStatus(change.status);
      }
    });
    this.connection.onreconnecting(() => this.setAvailable(false));
    this.connection.onreconnected(() => this.resubscribe());
    // Automatic reconnect stops after a failed run of retries only if the policy says so; ours never does, but a
    // close can still come from the server: start over.
    this.connection.onclose(() => {
      this.setAvailable(false);
      this.startLater(0);
    });
  }

  start() {
    this.startLater(-1);
  }

  /** @param {string[]} ids the kernels the page shows now */
  async setKernels(ids) {
    const wanted = new Set(ids);
    const connected = this.connection.state === HubConnectionState.Connected;
    for (const id of [...this.kernels]) {
      if (!wanted.has(id)) {
        this.kernels.delete(id);
        if (connected) {
          this.connection.invoke('UnsubscribeKernel', id).catch(() => {});
        }
      }
    }
    for (const id of wanted) {
      if (!this.kernels.has(id)) {
        this.kernels.add(id);
        if (connected) {
          await this.subscribe(id);
        }
      }
    }
  }

  async subscribe(id) {
    try {
      const status = await this.connection.invoke('SubscribeKernel', id);
      if (status && this.kernels.has(id)) {
        this.listener.onStatus(status);
      }
    } catch {
      // The connection dropped meanwhile; resubscribe() runs once it is back.
    }
  }

  async resubscribe() {
    await Promise.all([...this.kernels].map((id) => this.subscribe(id)));
    this.setAvailable(this.connection.state === HubConnectionState.Connected);
  }

  setAvailable(available) {
    if (this.available !== available) {
      this.available = available;
      this.listener.onAvailability(available);
    }
  }

  startLater(attempt) {
    const run = async () => {
      if (this.connection.state !== HubConnectionState.Disconnected) {
        return;
      }
      try {
        await this.connection.start();
        await this.resubscribe();
      } catch (error) {
        this.setAvailable(false);
        if (isUnauthorized(error) && this.listener.onUnauthorized && !(await this.listener.onUnauthorized())) {
          // The listener says no identity can be had (the user must sign in first): stop instead of spinning.
          return;
        }
        this.startLater(attempt + 1);
      }
    };
    if (attempt < 0) {
      run();
    } else {
      setTimeout(run, delayFor(attempt));
    }
  }
}
