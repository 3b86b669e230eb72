// Which kernel the status item follows, and what it last heard about each kernel the user has open.
import { ISignal, Signal } from '@lumino/signaling';
import type { IAttachHub } from './hub';
import { IKernelStatus, INotice, noticeFor } from './status';

/** What the status item shows for the current notebook. */
export interface ICurrentKernel {
  /** The current notebook's kernel, or null when no notebook (or no kernel) is current. */
  kernelId: string | null;
  /** Its last status; null when none has arrived yet or the hub is unavailable. */
  status: IKernelStatus | null;
  available: boolean;
}

/**
 * Follows the kernels of the open notebooks (subscribing to exactly those) and the current one, and turns
 * their transitions into notices. It holds no DOM: the status item and the notifications listen to it.
 */
export class KernelStatusTracker {
  private readonly _statuses = new Map<string, IKernelStatus>();
  private readonly _changed = new Signal<KernelStatusTracker, ICurrentKernel>(this);
  private readonly _notice = new Signal<KernelStatusTracker, INotice>(this);
  private _open = new Set<string>();
  private _current: string | null = null;

  constructor(private readonly _hub: IAttachHub) {
    _hub.statusChanged.connect((_, status) => this._onStatus(status));
    _hub.availableChanged.connect(() => this._changed.emit(this.current));
  }

  /** The current notebook's kernel changed (or none is current). */
  get changed(): ISignal<KernelStatusTracker, ICurrentKernel> {
    return this._changed;
  }

  /** A transition worth telling the user about, on any open kernel. */
  get notice(): ISignal<KernelStatusTracker, INotice> {
    return this._notice;
  }

  get current(): ICurrentKernel {
    const kernelId = this._current;
    const available = this._hub.available;
    return {
      kernelId,
      available,
      status: kernelId !== null && available ? (this._statuses.get(kernelId) ?? null) : null
    };
  }

  /** The kernels of the notebooks now open: new ones are subscribed, closed ones unsubscribed. */
  setOpenKernels(kernelIds: Iterable<string>): void {
    const next = new Set(kernelIds);
    for (const id of this._open) {
      if (!next.has(id)) {
        this._hub.unsubscribe(id);
        this._statuses.delete(id);
      }
    }
    for (const id of next) {
      if (!this._open.has(id)) {
        this._hub.subscribe(id);
      }
    }
    this._open = next;
  }

  setCurrentKernel(kernelId: string | null): void {
    if (this._current !== kernelId) {
      this._current = kernelId;
      this._changed.emit(this.current);
    }
  }

  private _onStatus(status: IKernelStatus): void {
    if (!this._open.has(status.kernelId)) {
      return;
    }
    const previous = this._statuses.get(status.kernelId) ?? null;
    this._statuses.set(status.kernelId, status);
    const notice = noticeFor(previous, status);
    if (notice) {
      this._notice.emit(notice);
    }
    if (status.kernelId === this._current) {
      this._changed.emit(this.current);
    }
  }
}
