// Small line and area charts as inline SVG strings: enough for the dashboard's few plots, no library.

function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

function time(ms) {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

function niceMax(v) {
  if (v <= 0) {
    return 1;
  }
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= v);
}

/**
 * @param {{ title: string, unit?: string, series: { name: string, color: string, points: [number, number][], area?: boolean }[], yMax?: number, empty?: string }} spec
 * @returns {string} an <svg> element
 */
export function lineChart(spec) {
  const width = 560;
  const height = 200;
  const left = 44;
  const right = 12;
  const top = 44;
  const bottom = 26;
  const all = spec.series.flatMap((s) => s.points);
  const label = `<text x="${left}" y="16" class="chart-title">${esc(spec.title)}</text>`;
  if (all.length < 2) {
    return `<svg class="chart" role="img" aria-label="${esc(spec.title)}" viewBox="0 0 ${width} ${height}">${label}` +
      `<text x="${width / 2}" y="${height / 2}" text-anchor="middle" class="chart-empty">${esc(spec.empty || 'not enough samples yet')}</text></svg>`;
  }
  const x0 = Math.min(...all.map((p) => p[0]));
  const x1 = Math.max(...all.map((p) => p[0]));
  const y1 = spec.yMax ?? niceMax(Math.max(...all.map((p) => p[1])));
  const y0 = Math.min(0, ...all.map((p) => p[1]));
  const sx = (x) => left + ((x - x0) / Math.max(1, x1 - x0)) * (width - left - right);
  const sy = (y) => top + (1 - (y - y0) / Math.max(1e-9, y1 - y0)) * (height - top - bottom);
  const fmt = (v) => (Math.abs(y1 - y0) < 0.1 ? Number(v.toPrecision(2)) : Number(v.toFixed(2)));
  const grid = [0, 0.5, 1].map((f) => {
    const v = y0 + f * (y1 - y0);
    return `<line x1="${left}" x2="${width - right}" y1="${sy(v)}" y2="${sy(v)}" class="chart-grid"/>` +
      `<text x="${left - 4}" y="${sy(v) + 4}" text-anchor="end" class="chart-axis">${esc(fmt(v))}${esc(spec.unit || '')}</text>`;
  }).join('');
  const xAxis = `<text x="${left}" y="${height - 6}" class="chart-axis">${time(x0)}</text>` +
    `<text x="${width - right}" y="${height - 6}" text-anchor="end" class="chart-axis">${time(x1)}</text>`;
  const lines = spec.series.map((s) => {
    if (s.points.length === 0) {
      return '';
    }
    const d = s.points.map((p, i) => `${i ? 'L' : 'M'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join('');
    const area = s.area
      ? `<path d="${d}L${sx(s.points[s.points.length - 1][0]).toFixed(1)},${sy(y0)}L${sx(s.points[0][0]).toFixed(1)},${sy(y0)}Z" fill="${s.color}" opacity="0.15"/>`
      : '';
    return `${area}<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.6"/>`;
  }).join('');
  const legend = spec.series.map((s, i) =>
    `<rect x="${left + i * 110}" y="24" width="10" height="10" fill="${s.color}"/>` +
    `<text x="${left + 14 + i * 110}" y="33" class="chart-axis">${esc(s.name)}</text>`).join('');
  return `<svg class="chart" role="img" aria-label="${esc(spec.title)}" viewBox="0 0 ${width} ${height}">${label}${legend}${grid}${xAxis}${lines}</svg>`;
}

export { esc };
