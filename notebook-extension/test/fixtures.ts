import { ISignal, Signal } from '@lumino/signaling';
import type { IAttachHub } from '../src/hub';
import { IKernelStatus } from '../src/status';

export function status(overrides: Partial<IKernelStatus> = {}): IKernelStatus {
  return {
    kernelId: 'k1',
    owner: 'ada',
    state: 'Detached',
    busy: false,
    attachment: null,
    since: '2026-11-28T12:00:00Z',
    releaseAt: null,
    reason: 'no GPU work yet',
    ...overrides
  };
}

export function attached(overrides: Partial<IKernelStatus> = {}, waitSeconds = 0.01): IKernelStatus {
  return status({
    state: 'Attached',
    reason: 'GPU cell',
    attachment: {
      leaseId: 'l1',
      nodeId: 'test-node',
      gpuIndex: 0,
      gpuUuid: 'SIM-0',
      gpuName: 'A100 80GB (simulated)',
      simulated: true,
      sliceMemoryMiB: 20480,
      gpuMemoryMiB: 81920,
      waitSeconds
    },
    ...overrides
  });
}

/** A hub the test drives: what was subscribed, and statuses pushed by hand. */
export class FakeHub implements IAttachHub {
  readonly subscribed = new Set<string>();
  readonly statusChanged: ISignal<IAttachHub, IKernelStatus> = new Signal<IAttachHub, IKernelStatus>(this);
  readonly availableChanged: ISignal<IAttachHub, boolean> = new Signal<IAttachHub, boolean>(this);
  available = true;

  subscribe(kernelId: string): void {
    this.subscribed.add(kernelId);
  }

  unsubscribe(kernelId: string): void {
    this.subscribed.delete(kernelId);
  }

  push(s: IKernelStatus): void {
    (this.statusChanged as Signal<IAttachHub, IKernelStatus>).emit(s);
  }

  setAvailable(value: boolean): void {
    this.available = value;
    (this.availableChanged as Signal<IAttachHub, boolean>).emit(value);
  }
}
