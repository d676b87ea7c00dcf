// Inline SVG charts (no chart library): a sync's run history as grouped bars of added /
// changed / removed / rejected per run, and a small trend line. Both scale with their
// container (viewBox, width 100%) and carry a text alternative; the numbers they draw are
// also in a table next to them.

import { fmt, h, s, uid } from './dom.js';

export const RUN_SERIES = [
  { key: 'added', title: 'Added' },
  { key: 'changed', title: 'Changed' },
  { key: 'removed', title: 'Removed' },
  { key: 'rejected', title: 'Rejected' },
];

/** A readable axis maximum: 1, 2, 5 × 10^n at or above `max`. */
function niceMax(max) {
  if (max <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

/** Runs newest first (as the API lists them) → a chart oldest → newest. */
export function runChart(runs) {
  const ordered = [...runs].reverse();
  const width = 640;
  const height = 220;
  const pad = { left: 48, right: 8, top: 12, bottom: 36 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const value = (run, key) => (run.counts && typeof run.counts[key] === 'number' ? run.counts[key] : 0);
  const top = niceMax(Math.max(0, ...ordered.flatMap((r) => RUN_SERIES.map((series) => value(r, series.key)))));
  const y = (v) => pad.top + plotH - (v / top) * plotH;
  const slotW = plotW / Math.max(ordered.length, 1);
  const barW = Math.max(2, Math.min(18, (slotW - 6) / RUN_SERIES.length));
  const titleId = uid('chart-title');
  const descId = uid('chart-desc');
  const summary = ordered.length
    ? `${ordered.length} run(s), oldest first. Latest: ${RUN_SERIES.map((series) => `${series.title.toLowerCase()} ${fmt(value(ordered[ordered.length - 1], series.key))}`).join(', ')}.`
    : 'No runs yet.';
  const ticks = [0, top / 2, top];
  const svg = s(
    'svg',
    { class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': `${titleId} ${descId}`, 'data-chart': 'runs', preserveAspectRatio: 'xMinYMin meet' },
    s('title', { id: titleId }, 'Rows per run: added, changed, removed, rejected'),
    s('desc', { id: descId }, summary),
    ticks.map((t) => [
      s('line', { x1: pad.left, x2: width - pad.right, y1: y(t), y2: y(t), class: 'grid' }),
      s('text', { x: pad.left - 6, y: y(t) + 4, class: 'axis', 'text-anchor': 'end' }, fmt(Math.round(t))),
    ]),
    ordered.map((run, i) => {
      const x0 = pad.left + i * slotW + (slotW - barW * RUN_SERIES.length) / 2;
      return s(
        'g',
        { 'data-run-id': run.id },
        RUN_SERIES.map((series, j) => {
          const v = value(run, series.key);
          const yTop = y(v);
          return s(
            'rect',
            { x: x0 + j * barW, y: yTop, width: Math.max(1, barW - 1), height: Math.max(v > 0 ? 1 : 0, pad.top + plotH - yTop), class: `series-${series.key}`, 'data-series': series.key, 'data-value': v },
            s('title', {}, `${new Date(run.started_at).toLocaleString()} · ${run.status}: ${series.title.toLowerCase()} ${fmt(v)}`),
          );
        }),
        ordered.length <= 12 || i % Math.ceil(ordered.length / 12) === 0 ? s('text', { x: pad.left + i * slotW + slotW / 2, y: height - pad.bottom + 16, class: 'axis', 'text-anchor': 'middle' }, `#${i + 1}`) : null,
        run.status !== 'success' ? s('text', { x: pad.left + i * slotW + slotW / 2, y: height - pad.bottom + 30, class: 'axis status', 'text-anchor': 'middle' }, run.status === 'partial' ? '◐' : '✕') : null,
      );
    }),
    s('line', { x1: pad.left, x2: width - pad.right, y1: pad.top + plotH, y2: pad.top + plotH, class: 'baseline' }),
  );
  const legend = h(
    'ul',
    { class: 'legend', 'aria-label': 'Legend' },
    RUN_SERIES.map((series) => h('li', {}, s('svg', { viewBox: '0 0 10 10', class: 'swatch', 'aria-hidden': 'true' }, s('rect', { width: 10, height: 10, class: `series-${series.key}` })), series.title)),
    h('li', { class: 'muted' }, '✕ failed, ◐ partial (below the run number)'),
  );
  return h('figure', { class: 'chart-figure' }, svg, legend);
}

/** A small trend line of `points` ([{ at, members }], oldest first), with a text alternative. */
export function sparkline(points, label) {
  const values = points.map((p) => Number(p.members) || 0);
  const width = 100;
  const height = 24;
  const max = Math.max(1, ...values);
  const min = Math.min(...values, max);
  const span = Math.max(1, max - min);
  const x = (i) => (values.length === 1 ? width / 2 : (i / (values.length - 1)) * (width - 4) + 2);
  const y = (v) => height - 3 - ((v - min) / span) * (height - 6);
  const first = values[0];
  const last = values[values.length - 1];
  const text = values.length ? `${label}: ${fmt(first)} → ${fmt(last)} over ${values.length} run(s)` : `${label}: no history yet`;
  return s(
    'svg',
    { class: 'sparkline', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': text, 'data-trend': values.join(',') },
    s('title', {}, text),
    values.length > 1 ? s('polyline', { points: values.map((v, i) => `${x(i)},${y(v)}`).join(' '), class: 'trend' }) : null,
    values.length ? s('circle', { cx: x(values.length - 1), cy: y(last), r: 2.5, class: 'trend-end' }) : null,
  );
}
