import { describe as describeStatus, formatBytes, formatDuration, formatMiB, noticeFor } from '../src/status';
import { attached, status } from './fixtures';

const now = new Date('2026-11-28T12:00:10Z');

describe('the status bar text', () => {
  it('says detached when no GPU is bound', () => {
    expect(describeStatus(status(), now).label).toBe('GPU: detached');
  });

  it('shows the queue position and ETA while queued', () => {
    const view = describeStatus(status({ state: 'Queued', queuePosition: 3, etaSeconds: 40 }), now);
    expect(view.label).toBe('GPU: queued #3, ETA 40 s');
    expect(view.state).toBe('queued');
  });

  it('says attaching while the slice is placed', () => {
    expect(describeStatus(status({ state: 'Attaching' }), now).label).toBe('GPU: attaching…');
  });

  it('names the GPU as the broker gives it (simulated included) and the slice size when attached', () => {
    const view = describeStatus(attached(), now);
    expect(view.label).toBe('GPU: A100 80GB (simulated), 20 GiB');
    expect(view.details).toContain('Slice: 20 GiB of 80 GiB');
  });

  it('counts down to the idle release while the kernel is idle', () => {
    const view = describeStatus(attached({ releaseAt: '2026-11-28T12:01:00Z' }), now);
    expect(view.label).toBe('GPU: A100 80GB (simulated), 20 GiB · idle release in 50 s');
  });

  it('does not count down while a cell runs', () => {
    const view = describeStatus(attached({ busy: true, releaseAt: '2026-11-28T12:01:00Z' }), now);
    expect(view.label).not.toContain('idle release');
    expect(view.details).toContain('Busy: kept while a cell runs.');
  });

  it('shows the bytes kept in host memory when suspended', () => {
    const view = describeStatus(status({ state: 'Suspended', suspendedBytes: 3435973837 }), now);
    expect(view.label).toBe('GPU: released, 3.2 GiB kept');
  });

  it('gives the reason when an attach failed', () => {
    const view = describeStatus(status({ state: 'Failed', reason: 'no agent is registered' }), now);
    expect(view.label).toBe('GPU: failed — no agent is registered');
  });

  it('says status unavailable when the hub cannot be reached', () => {
    expect(describeStatus(null, now).label).toBe('GPU: status unavailable');
  });
});

describe('formats', () => {
  it('shows memory the way the broker and the CLI do', () => {
    expect(formatMiB(20480)).toBe('20 GiB');
    expect(formatMiB(1536)).toBe('1536 MiB');
  });

  it('shows durations and byte counts readably', () => {
    expect(formatDuration(200)).toBe('3 min 20 s');
    expect(formatDuration(3900)).toBe('1 h 5 min');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1024 * 1024 * 1024)).toBe('1 GiB');
  });
});

describe('notifications', () => {
  it('announces nothing for the first status seen', () => {
    expect(noticeFor(null, attached({}, 30))).toBeNull();
  });

  it('announces an attach that came after a wait in the queue', () => {
    const notice = noticeFor(status({ state: 'Queued', queuePosition: 1 }), attached({}, 42));
    expect(notice).toEqual({ kind: 'success', message: 'GPU attached after waiting 42 s: A100 80GB (simulated), 20 GiB slice.' });
  });

  it('stays quiet for an instant attach', () => {
    expect(noticeFor(status({ state: 'Attaching' }), attached({}, 0.01))).toBeNull();
  });

  it('announces an idle release and a resume', () => {
    expect(noticeFor(attached(), status({ state: 'Detached', reason: 'idle for 5 min' }))?.message).toBe(
      'GPU released: idle for 5 min.'
    );
    expect(
      noticeFor(attached(), status({ state: 'Detached', reason: 'released: idle for 8 s; the slice is back in the pool' }))?.message
    ).toBe('GPU released: idle for 8 s; the slice is back in the pool.');
    expect(noticeFor(status({ state: 'Resuming' }), attached())?.kind).toBe('info');
    expect(noticeFor(status({ state: 'Resuming' }), attached())?.message).toMatch(/^GPU resumed/);
  });

  it('announces a suspend with the memory kept', () => {
    const notice = noticeFor(attached(), status({ state: 'Suspended', suspendedBytes: 2 * 1024 ** 3, reason: 'idle' }));
    expect(notice?.message).toBe('GPU released (idle); 2 GiB kept in host memory.');
  });

  it('announces a failure with its reason', () => {
    expect(noticeFor(status({ state: 'Attaching' }), status({ state: 'Failed', reason: 'agent gone' }))).toEqual({
      kind: 'error',
      message: 'GPU attach failed: agent gone'
    });
  });

  it('mentions big queue moves and reaching the front, not every step', () => {
    const at = (queuePosition: number) => status({ state: 'Queued', queuePosition });
    expect(noticeFor(status(), at(12))?.kind).toBe('warning');
    expect(noticeFor(at(12), at(11))).toBeNull();
    expect(noticeFor(at(11), at(4))?.message).toBe('Queue position 11 → 4.');
    expect(noticeFor(at(4), at(3))).toBeNull();
    expect(noticeFor(at(2), at(1))?.message).toBe('Next in line for a GPU.');
  });
});
