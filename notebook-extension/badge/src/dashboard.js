// The pool dashboard at /attach/: the viewer's kernels, slices and GPU time today; for admins every GPU, who
// holds which slice, every kernel and the queue; and plots of the last hours. It reads the gateway's summary
// (which asks the broker on the viewer's behalf) every few seconds, and follows the viewer's kernels on the hub.
import { KernelHub } from './hub.js';
import { describe, duration, memory, stateWord } from './format.js';
import { esc, lineChart } from './chart.js';

const SUMMARY_URL = '/attach/dashboard/summary';
const main = document.getElementById('attach-dashboard');
let summary = null;
let hubAvailable = false;
const live = new Map();

function unavailable(part) {
  return `<p class="muted">not available (${esc(part.reason || 'no answer')})</p>`;
}

function kernelRows(kernels, withOwner) {
  if (kernels.length === 0) {
    return '<p class="muted">No kernels yet: run a cell in a notebook.</p>';
  }
  const now = Date.now();
  return `<table><thead><tr><th>Kernel</th>${withOwner ? '<th>User</th>' : ''}<th>GPU state</th><th>Since</th></tr></thead><tbody>${
    kernels.map((k) => {
      const s = live.get(k.kernelId) || k;
      return `<tr data-kernel="${esc(k.kernelId)}" data-state="${esc(stateWord(s))}"><td><code>${esc(k.kernelId)}</code></td>` +
        `${withOwner ? `<td>${esc(k.owner)}</td>` : ''}<td>${esc(describe(s, now))}</td><td>${esc(duration((now - Date.parse(s.since)) / 1000))} ago</td></tr>`;
    }).join('')}</tbody></table>`;
}

function poolSection(pool) {
  if (!pool.available) {
    return unavailable(pool);
  }
  const gpus = pool.data.nodes.flatMap((n) => n.gpus.map((g) => ({ node: n, g })));
  if (gpus.length === 0) {
    return '<p class="muted">No GPU node has registered.</p>';
  }
  return `<div class="gpus">${gpus.map(({ node, g }) => {
    const total = g.gpu.memoryTotalMiB;
    const name = g.gpu.simulated ? `${g.gpu.model} (simulated)` : g.gpu.model;
    let x = 0;
    const bars = g.leases.map((l) => {
      const w = (100 * l.memoryMiB) / total;
      const rect = `<rect x="${x.toFixed(2)}" width="${w.toFixed(2)}" height="12" class="slice"><title>${esc(`${l.owner}: ${memory(l.memoryMiB)}`)}</title></rect>`;
      x += w;
      return rect;
    }).join('');
    const holders = g.leases.length === 0
      ? '<li class="muted">free</li>'
      : g.leases.map((l) => `<li>${esc(memory(l.memoryMiB))} · ${esc(l.owner)}${l.kernelId !== l.owner ? ` · <code>${esc(l.kernelId.slice(0, 8))}</code>` : ''}</li>`).join('');
    return `<div class="gpu"><div class="gpu-name">${esc(node.nodeId)} · GPU ${g.gpu.index} · ${esc(name)}</div>` +
      `<svg class="bar" viewBox="0 0 100 12" preserveAspectRatio="none" role="img" aria-label="${esc(`${memory(g.allocatedMiB)} of ${memory(total)} allocated`)}"><rect width="100" height="12" class="free"/>${bars}</svg>` +
      `<div class="muted">${esc(memory(g.allocatedMiB))} of ${esc(memory(total))} allocated</div><ul>${holders}</ul></div>`;
  }).join('')}</div>`;
}

function plots(history) {
  if (!history.available) {
    return unavailable(history);
  }
  const h = history.data;
  const t = (p) => Date.parse(p.at);
  const occupancy = lineChart({
    title: 'Pool occupancy (device memory allocated)',
    unit: '%',
    yMax: 100,
    series: [
      { name: 'pool', color: '#0969da', area: true, points: h.points.map((p) => [t(p), p.memoryTotalMiB ? (100 * p.memoryAllocatedMiB) / p.memoryTotalMiB : 0]) },
      { name: 'yours', color: '#1a7f37', points: h.points.map((p) => [t(p), p.gpus ? (100 * p.yourGpusInUse) / p.gpus : 0]) },
    ],
  });
  const waits = lineChart({
    title: 'Waits: kernels queued, longest wait for a GPU',
    series: [
      { name: 'queued', color: '#bf8700', points: h.points.map((p) => [t(p), p.kernelsQueued]) },
      { name: 'wait (s)', color: '#cf222e', points: h.points.filter((p) => p.maxWaitSeconds != null).map((p) => [t(p), p.maxWaitSeconds]) },
    ],
  });
  let saved = 0;
  let used = 0;
  const savedPoints = [];
  const usedPoints = [];
  h.points.forEach((p, i) => {
    const dt = i === 0 ? 0 : (t(p) - t(h.points[i - 1])) / 3600000;
    saved += (p.users - p.gpusInUse) * dt;
    used += p.gpusInUse * dt;
    savedPoints.push([t(p), saved]);
    usedPoints.push([t(p), used]);
  });
  const savings = lineChart({
    title: 'GPU-hours: used by slices, and saved against one GPU per user',
    unit: ' h',
    series: [
      { name: 'used', color: '#0969da', points: usedPoints },
      { name: 'saved', color: '#1a7f37', area: true, points: savedPoints },
    ],
  });
  const totals = h.totals;
  return `<div class="plots">${occupancy}${waits}${savings}</div>` +
    `<p class="muted">Last ${esc(((Date.parse(h.to) - Date.parse(h.from)) / 3600000).toFixed(0))} h, one sample every ${esc(h.intervalSeconds)} s. ` +
    `${esc(totals.gpuHoursUsed.toFixed(2))} GPU-hours used; a pool with one GPU for every user with a kernel would have held ` +
    `${esc(totals.dedicatedGpuHours.toFixed(2))}: <strong>${esc(totals.gpuHoursSaved.toFixed(2))} GPU-hours saved</strong>.</p>`;
}

function usageSection(s) {
  const parts = [];
  if (s.history.available) {
    const you = s.history.data.you;
    parts.push(`<p class="big" data-usage="gpu-seconds">${esc(duration(you.gpuSeconds))} <span class="muted">of GPU time today (a 20 GiB slice of an 80 GiB GPU for an hour counts 15 min)</span></p>` +
      `<p class="muted">${esc(duration(you.sliceSeconds))} holding slices today (UTC day ${esc(you.day)}).</p>`);
  } else {
    parts.push(unavailable(s.history));
  }
  parts.push(s.usage.available
    ? `<details><summary>Usage as the broker's scheduler counts it</summary><pre>${esc(JSON.stringify(s.usage.data, null, 2))}</pre></details>`
    : `<p class="muted" data-usage="scheduler">Quota usage: not available (${esc(s.usage.reason)}).</p>`);
  return parts.join('');
}

function render() {
  if (!summary) {
    return;
  }
  const s = summary;
  const kernels = s.kernels.available ? s.kernels.data : [];
  const admin = s.admin
    ? `<section><h2>Every kernel</h2>${s.allKernels.available ? kernelRows(s.allKernels.data, true) : unavailable(s.allKernels)}</section>` +
      `<section><h2>Queue</h2>${s.queue.available ? `<pre>${esc(JSON.stringify(s.queue.data, null, 2))}</pre>` : unavailable(s.queue)}</section>`
    : '';
  main.innerHTML = `<header><h1>Attach · GPU pool</h1><p class="muted">${esc(s.user)}${s.admin ? ' · admin' : ''} · ` +
    `<span data-hub="${hubAvailable ? 'live' : 'unavailable'}">${hubAvailable ? 'live' : 'live status unavailable, refreshing every 5 s'}</span></p></header>` +
    `<section><h2>Your kernels</h2>${s.kernels.available ? kernelRows(kernels, false) : unavailable(s.kernels)}</section>` +
    `<section><h2>Your GPU time</h2>${usageSection(s)}</section>` +
    `<section><h2>${s.admin ? 'Every GPU and slice' : 'The pool (other users’ slices show only their size)'}</h2>${poolSection(s.pool)}</section>` +
    admin +
    `<section><h2>The last hours</h2>${plots(s.history)}</section>`;
}

const hub = new KernelHub('/hubs/attach', {
  onStatus(status) {
    live.set(status.kernelId, status);
    render();
  },
  onAvailability(available) {
    hubAvailable = available;
    render();
  },
});

async function refresh() {
  try {
    const response = await fetch(SUMMARY_URL, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (response.ok) {
      summary = await response.json();
      await hub.setKernels(summary.kernels.available ? summary.kernels.data.map((k) => k.kernelId) : []);
      render();
    } else {
      main.innerHTML = `<p>The gateway answered HTTP ${response.status}; sign in again with the URL <code>make run</code> printed.</p>`;
    }
  } catch {
    // The gateway restarts; the next round tries again.
  }
  setTimeout(refresh, 5000);
}

hub.start();
refresh();
