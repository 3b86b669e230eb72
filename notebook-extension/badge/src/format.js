// How a kernel's GPU state reads, in the badge and on the dashboard. The GPU's name is the broker's, which
// says "(simulated)" for a simulated GPU; nothing here adds or removes that.

export function memory(mib) {
  if (mib == null) {
    return '';
  }
  return mib >= 1024 && mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`;
}

export function bytes(n) {
  if (n == null) {
    return '';
  }
  const gib = n / 1024 ** 3;
  return gib >= 1 ? `${gib.toFixed(1)} GiB` : `${Math.round(n / 1024 ** 2)} MiB`;
}

export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) {
    return `${s} s`;
  }
  const m = Math.floor(s / 60);
  if (m < 60) {
    return `${m}:${String(s % 60).padStart(2, '0')} min`;
  }
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** The state as a CSS-friendly word: detached, queued, attaching, attached, suspended, failed … */
export function stateWord(status) {
  return String(status.state || 'Detached').toLowerCase();
}

/**
 * One line for a kernel's status.
 * @param {object} status a KernelStatus (camelCase JSON)
 * @param {number} now milliseconds since the epoch
 */
export function describe(status, now) {
  const a = status.attachment;
  switch (status.state) {
    case 'Queued': {
      const parts = ['queued'];
      if (status.queuePosition != null) {
        parts.push(`position ${status.queuePosition}`);
      }
      if (status.etaSeconds != null) {
        parts.push(`about ${duration(status.etaSeconds)}`);
      }
      return parts.join(' · ');
    }
    case 'Attaching':
      return 'attaching a GPU…';
    case 'Attached': {
      const parts = [a ? a.gpuName : 'GPU'];
      if (a) {
        parts.push(`${memory(a.sliceMemoryMiB)} slice`);
      }
      if (status.busy) {
        parts.push('busy');
      } else if (status.releaseAt) {
        parts.push(`idle release in ${duration((Date.parse(status.releaseAt) - now) / 1000)}`);
      }
      return parts.join(' · ');
    }
    case 'Suspending':
      return 'suspending: copying GPU memory to host memory…';
    case 'Suspended':
      return status.suspendedBytes != null
        ? `suspended · ${bytes(status.suspendedBytes)} kept in host memory`
        : 'suspended';
    case 'Resuming':
      return 'resuming…';
    case 'Releasing':
      return 'releasing the GPU…';
    case 'Failed':
      return `failed: ${status.reason || 'no reason given'}`;
    default:
      return 'detached · no GPU';
  }
}
