import { KernelStatusTracker } from '../src/tracker';
import { attached, FakeHub, status } from './fixtures';

describe('KernelStatusTracker', () => {
  it('subscribes to the open notebooks’ kernels only, and drops closed ones', () => {
    const hub = new FakeHub();
    const tracker = new KernelStatusTracker(hub);
    tracker.setOpenKernels(['k1', 'k2']);
    expect([...hub.subscribed].sort()).toEqual(['k1', 'k2']);
    tracker.setOpenKernels(['k2']);
    expect([...hub.subscribed]).toEqual(['k2']);
  });

  it('shows the current notebook’s kernel, not another open one', () => {
    const hub = new FakeHub();
    const tracker = new KernelStatusTracker(hub);
    tracker.setOpenKernels(['k1', 'k2']);
    tracker.setCurrentKernel('k1');
    hub.push(attached({ kernelId: 'k2' }));
    hub.push(status({ kernelId: 'k1' }));
    expect(tracker.current.status?.state).toBe('Detached');
    tracker.setCurrentKernel('k2');
    expect(tracker.current.status?.state).toBe('Attached');
  });

  it('ignores statuses of kernels it did not subscribe to', () => {
    const hub = new FakeHub();
    const tracker = new KernelStatusTracker(hub);
    tracker.setOpenKernels(['k1']);
    tracker.setCurrentKernel('k1');
    hub.push(attached({ kernelId: 'other' }));
    expect(tracker.current.status).toBeNull();
  });

  it('reports no status while the hub is unavailable, and the last one when it is back', () => {
    const hub = new FakeHub();
    const tracker = new KernelStatusTracker(hub);
    const seen: Array<boolean> = [];
    tracker.changed.connect((_, current) => seen.push(current.available));
    tracker.setOpenKernels(['k1']);
    tracker.setCurrentKernel('k1');
    hub.push(attached());
    hub.setAvailable(false);
    expect(tracker.current).toEqual({ kernelId: 'k1', status: null, available: false });
    hub.setAvailable(true);
    expect(tracker.current.status?.state).toBe('Attached');
    expect(seen).toContain(false);
  });

  it('turns transitions into notices, for any open kernel', () => {
    const hub = new FakeHub();
    const tracker = new KernelStatusTracker(hub);
    const notices: string[] = [];
    tracker.notice.connect((_, notice) => notices.push(notice.message));
    tracker.setOpenKernels(['k1', 'k2']);
    tracker.setCurrentKernel('k1');
    hub.push(status({ kernelId: 'k2', state: 'Queued', queuePosition: 2 }));
    hub.push(attached({ kernelId: 'k2' }, 12));
    expect(notices).toEqual(['GPU attached after waiting 12 s: A100 80GB (simulated), 20 GiB slice.']);
  });
});
