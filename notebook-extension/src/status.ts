// The broker's kernel status as the hub sends it (kernel-broker/Attach.Contracts/Kernels, camelCase JSON,
// enum values as strings), and how the extension words it. Pure functions: the unit tests cover them.

/** KernelState in Attach.Contracts. */
export type KernelState =
  | 'Detached'
  | 'Queued'
  | 'Attaching'
  | 'Attached'
  | 'Suspending'
  | 'Suspended'
  | 'Resuming'
  | 'Releasing'
  | 'Failed';

/** AttachmentInfo in Attach.Contracts: the bound slice. */
export interface IAttachment {
  leaseId: string;
  nodeId: string;
  gpuIndex: number;
  gpuUuid: string;
  /** The display name; simulated GPUs say so in it ("A100 80GB (simulated)"). */
  gpuName: string;
  simulated: boolean;
  sliceMemoryMiB: number;
  gpuMemoryMiB: number;
  waitSeconds: number;
}

/** KernelStatus in Attach.Contracts. */
export interface IKernelStatus {
  kernelId: string;
  owner: string;
  state: KernelState;
  busy: boolean;
  attachment?: IAttachment | null;
  since: string;
  releaseAt?: string | null;
  reason: string;
  queuePosition?: number | null;
  etaSeconds?: number | null;
  suspendedBytes?: number | null;
}

/** KernelStateChanged in Attach.Contracts: what the hub's KernelStateChanged client method receives. */
export interface IKernelStateChanged {
  kernelId: string;
  from: KernelState;
  to: KernelState;
  reason: string;
  status: IKernelStatus;
}

/** What the status bar item shows. */
export interface IStatusView {
  /** The short text in the status bar. */
  label: string;
  /** A CSS-friendly name of the state (data-state). */
  state: string;
  /** Detail lines for the tooltip and the panel. */
  details: string[];
}

/** Device memory as Attach shows it everywhere (MemorySize.Format): whole GiB as "20 GiB", else MiB. */
export function formatMiB(mib: number): string {
  return mib >= 1024 && mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`;
}

/** Host memory kept for a suspended kernel: bytes in the largest unit that reads well. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1).replace(/\.0$/, '')} ${units[unit]}`;
}

/** A duration as "45 s", "3 min 20 s", "1 h 5 min". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) {
    return `${s} s`;
  }
  if (s < 3600) {
    const rest = s % 60;
    return rest ? `${Math.floor(s / 60)} min ${rest} s` : `${s / 60} min`;
  }
  const minutes = Math.floor((s % 3600) / 60);
  return minutes ? `${Math.floor(s / 3600)} h ${minutes} min` : `${s / 3600} h`;
}

function clock(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString();
}

function secondsBetween(fromIso: string, now: Date): number {
  return (new Date(fromIso).getTime() - now.getTime()) / 1000;
}

/** The status bar text and the panel's details for a kernel's status; null means the hub cannot be reached. */
export function describe(status: IKernelStatus | null, now: Date): IStatusView {
  if (status === null) {
    return {
      label: 'GPU: status unavailable',
      state: 'unavailable',
      details: ['The Attach hub cannot be reached; retrying. Cells still run, and GPU cells still attach.']
    };
  }
  const since = `since ${clock(status.since)}`;
  switch (status.state) {
    case 'Detached':
      return { label: 'GPU: detached', state: 'detached', details: [`No GPU bound (${status.reason}).`] };
    case 'Queued': {
      const position = status.queuePosition ?? '?';
      const eta = status.etaSeconds != null ? `, ETA ${formatDuration(status.etaSeconds)}` : '';
      return {
        label: `GPU: queued #${position}${eta}`,
        state: 'queued',
        details: [`Waiting for a GPU: position ${position} in the queue${eta}, ${since}.`]
      };
    }
    case 'Attaching':
      return { label: 'GPU: attaching…', state: 'attaching', details: [`Placing a slice and binding it, ${since}.`] };
    case 'Attached': {
      const a = status.attachment;
      const gpu = a ? `${a.gpuName}, ${formatMiB(a.sliceMemoryMiB)}` : 'a GPU';
      const details = [
        a ? `GPU ${a.gpuIndex} on ${a.nodeId}: ${a.gpuName}` : 'GPU attached',
        a ? `Slice: ${formatMiB(a.sliceMemoryMiB)} of ${formatMiB(a.gpuMemoryMiB)}` : '',
        `Attached ${since}${a && a.waitSeconds >= 0.5 ? ` after waiting ${formatDuration(a.waitSeconds)}` : ''}.`
      ].filter(line => line !== '');
      let release = '';
      if (status.busy) {
        details.push('Busy: kept while a cell runs.');
      } else if (status.releaseAt) {
        const left = secondsBetween(status.releaseAt, now);
        release = ` · idle release in ${formatDuration(left)}`;
        details.push(`Goes back to the pool in ${formatDuration(left)} if the kernel stays idle (at ${clock(status.releaseAt)}).`);
      }
      return { label: `GPU: ${gpu}${release}`, state: 'attached', details };
    }
    case 'Suspending':
      return { label: 'GPU: releasing (saving GPU memory)…', state: 'suspending', details: [`Copying device memory to host memory, ${since}.`] };
    case 'Suspended': {
      const kept = status.suspendedBytes != null ? formatBytes(status.suspendedBytes) : 'its GPU memory';
      return {
        label: `GPU: released, ${kept} kept`,
        state: 'suspended',
        details: [`Released ${since}; ${kept} kept in host memory. The next GPU cell resumes it.`]
      };
    }
    case 'Resuming':
      return { label: 'GPU: resuming…', state: 'resuming', details: [`Restoring GPU memory onto a slice, ${since}.`] };
    case 'Releasing':
      return { label: 'GPU: releasing…', state: 'releasing', details: [`Returning the slice to the pool, ${since}.`] };
    case 'Failed':
      return { label: `GPU: failed — ${status.reason}`, state: 'failed', details: [`Failed ${since}: ${status.reason}`] };
  }
}

/** A notification worth showing, or null: only transitions a user cares about, never every state. */
export interface INotice {
  kind: 'success' | 'info' | 'warning' | 'error';
  message: string;
}

/** Queue moves smaller than this are noise (except reaching the front). */
export const QueueMoveWorthMentioning = 5;

/** Attaches that waited at least this long are announced; instant ones are not. */
export const WaitWorthMentioningSeconds = 5;

/**
 * What to tell the user about a kernel going from `previous` to `next` (both statuses as last seen; `previous`
 * is null for the first status seen, which is never announced).
 */
export function noticeFor(previous: IKernelStatus | null, next: IKernelStatus): INotice | null {
  if (previous === null) {
    return null;
  }
  const a = next.attachment;
  const slice = a ? `${a.gpuName}, ${formatMiB(a.sliceMemoryMiB)} slice` : 'a GPU';
  if (next.state === 'Failed' && previous.state !== 'Failed') {
    return { kind: 'error', message: `GPU attach failed: ${next.reason}` };
  }
  if (next.state === 'Attached' && previous.state !== 'Attached') {
    if (previous.state === 'Resuming' || previous.state === 'Suspended') {
      return { kind: 'info', message: `GPU resumed: ${slice}; your GPU memory is back.` };
    }
    const waited = a?.waitSeconds ?? 0;
    if (previous.state === 'Queued' || waited >= WaitWorthMentioningSeconds) {
      return { kind: 'success', message: `GPU attached after waiting ${formatDuration(waited)}: ${slice}.` };
    }
    return null;
  }
  if (next.state === 'Suspended' && previous.state !== 'Suspended') {
    const kept = next.suspendedBytes != null ? formatBytes(next.suspendedBytes) : 'GPU memory';
    return { kind: 'info', message: `GPU released (${withoutPrefix(next.reason, 'released').replace(/\.$/, '')}); ${kept} kept in host memory.` };
  }
  if (next.state === 'Detached' && (previous.state === 'Attached' || previous.state === 'Releasing')) {
    return { kind: 'info', message: `GPU released: ${withoutPrefix(next.reason, 'released')}` };
  }
  if (next.state === 'Queued') {
    const position = next.queuePosition ?? 0;
    if (previous.state !== 'Queued') {
      return position > 1
        ? { kind: 'warning', message: `No GPU free: queued at position ${position}${etaText(next)}.` }
        : null;
    }
    const before = previous.queuePosition ?? 0;
    if (position !== before && (position === 1 || Math.abs(before - position) >= QueueMoveWorthMentioning)) {
      return { kind: 'info', message: position === 1 ? `Next in line for a GPU${etaText(next)}.` : `Queue position ${before} → ${position}${etaText(next)}.` };
    }
  }
  return null;
}

function etaText(status: IKernelStatus): string {
  return status.etaSeconds != null ? `, ETA ${formatDuration(status.etaSeconds)}` : '';
}

/** The broker's reasons often start with the state's own word ("released: idle for 5 min"); say it once. */
function withoutPrefix(reason: string, word: string): string {
  const rest = reason.startsWith(`${word}:`) ? reason.slice(word.length + 1).trim() : reason;
  return /[.!?]$/.test(rest) ? rest : `${rest}.`;
}
