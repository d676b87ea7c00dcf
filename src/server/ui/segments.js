// Segments: the list (size and trend over runs) and one segment's page (size after each
// condition group, masked preview, overlap with other segments, its compiled SQL; edit and
// delete for segments made through the API — file segments are code, changed in git).
// A segment that cannot be planned (`error` in its view: a dropped trait column, a cycle)
// is listed with that error instead of a size, and its page says why and offers edit/delete.

import { api, ApiError, followJob, path } from './api.js';
import { sparkline } from './chart.js';
import { announce, bar, errorBox, fmt, h, slot, table } from './dom.js';

function sizeCell(segment) {
  if (segment.error) return h('span', { class: 'error-text', title: segment.error, 'data-segment-error': segment.name }, 'cannot be built — open it to see why');
  if (typeof segment.materialized_members === 'number') return h('span', { title: 'members at the last build' }, fmt(segment.materialized_members));
  const cell = h('span', { class: 'muted', 'aria-busy': 'true' }, '…');
  api('GET', path('segments', segment.name, 'size'))
    .then((size) => {
      cell.className = '';
      cell.title = 'live size';
      cell.textContent = fmt(size.size);
    })
    .catch((error) => {
      cell.className = 'error';
      cell.textContent = error.message;
    })
    .finally(() => cell.removeAttribute('aria-busy'));
  return cell;
}

/** Size over the last builds that changed the membership (`trend: [{ at, members }]`, oldest first). */
const trendCell = (segment) => (Array.isArray(segment.trend) && segment.trend.length ? sparkline(segment.trend, `${segment.name} size`) : h('span', { class: 'muted', title: 'no build history yet' }, '—'));

/** "Build segments now": materialises every segment (a job), so syncs and sizes see new members. */
export function buildSegmentsButton(onDone = () => undefined) {
  const note = h('span', { 'aria-live': 'polite', 'data-build-note': '' });
  const button = h('button', { type: 'button', class: 'secondary', 'data-build-segments': '' }, 'Build segments now');
  button.addEventListener('click', async () => {
    button.disabled = true;
    note.className = '';
    note.textContent = 'Queued…';
    try {
      const job = await followJob(await api('POST', '/segments/run'), (j) => (note.textContent = j.status === 'running' ? 'Building…' : 'Queued…'));
      note.className = job.status === 'success' ? 'ok' : 'error';
      note.textContent = job.status === 'success' ? `Built. ${job.message || ''}` : `Build ${job.status}: ${job.message || ''}`;
      announce(`Segments build ${job.status}`);
      if (job.status === 'success') onDone();
    } catch (error) {
      note.replaceChildren(errorBox(error));
    } finally {
      button.disabled = false;
    }
  });
  return h('span', { class: 'row' }, button, note);
}

export function segmentsPage() {
  const list = h('div', {});
  const fill = () =>
    list.replaceChildren(
      slot(async () => {
        const { segments } = await api('GET', '/segments');
        const hasTrend = segments.some((s) => Array.isArray(s.trend) && s.trend.length);
        return table(
          [
            { key: 'name', title: 'Segment', cell: (s) => h('a', { href: `#/segments/${encodeURIComponent(s.name)}` }, s.name) },
            { key: 'description', title: 'Description' },
            { key: 'over', title: 'Over' },
            { key: 'kind', title: 'Kind', cell: (s) => `${s.kind}${s.origin === 'api' ? ' · UI' : ''}` },
            { key: 'size', title: 'Size', num: true, cell: sizeCell },
            ...(hasTrend ? [{ key: 'trend', title: 'Trend over runs', cell: trendCell }] : []),
          ],
          segments,
          { id: 'segments', label: 'Segments', empty: 'No segments yet: build one with “New segment”, or add segments/*.yml to the project.' },
        );
      }),
    );
  fill();
  return [
    h('div', { class: 'title-row' }, h('h1', {}, 'Segments'), h('div', { class: 'row' }, buildSegmentsButton(fill), h('a', { class: 'button', href: '#/segments/new' }, 'New segment'))),
    h('p', { class: 'muted' }, 'Size: members at the last build (a live count when never built).'),
    list,
  ];
}

/** One segment's view: GET /segments/NAME where the API has it, else its row of the list. */
async function segmentView(name) {
  try {
    return await api('GET', path('segments', name));
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404 || !/no route/.test(error.message)) throw error;
    const { segments } = await api('GET', '/segments');
    const found = segments.find((s) => s.name === name);
    if (!found) throw new ApiError(404, `no segment ${name}`);
    return found;
  }
}

function deleteControl(name) {
  const holder = h('span', { class: 'row' });
  const ask = h('button', { type: 'button', class: 'secondary danger' }, 'Delete…');
  ask.addEventListener('click', () => {
    const yes = h('button', { type: 'button', class: 'danger' }, `Delete ${name}`);
    const no = h('button', { type: 'button', class: 'secondary' }, 'Keep it');
    const note = h('span', { 'aria-live': 'polite' });
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      try {
        await api('DELETE', path('segments', name));
        announce(`Segment ${name} deleted`);
        location.hash = '#/segments';
      } catch (error) {
        note.replaceChildren(errorBox(error));
        yes.disabled = false;
      }
    });
    no.addEventListener('click', () => {
      holder.replaceChildren(ask);
      ask.focus();
    });
    holder.replaceChildren(h('span', {}, `Delete segment ${name}? Syncs reading it will fail.`), yes, no, note);
    no.focus();
  });
  holder.append(ask);
  return holder;
}

export function segmentPage({ name }) {
  const overlapResult = h('div', { 'aria-live': 'polite' });
  const viewed = segmentView(name);
  viewed.catch(() => undefined); // each slot below shows the error itself
  const head = slot(async () => {
    const view = await viewed;
    const origin = view.origin === 'api' ? 'built in the UI' : view.file ? `defined in ${view.file}` : null;
    return [
      view.error ? h('div', { class: 'error', role: 'alert', 'data-segment-error': view.name }, h('strong', {}, 'This segment cannot be built: '), view.error) : null,
      view.description ? h('p', {}, view.description) : null,
      h('p', { class: 'muted' }, [`over ${view.over}`, view.kind, origin, view.materialized_members === null ? 'not built yet' : `${fmt(view.materialized_members)} members at the last build`].filter(Boolean).join(' · ')),
      view.materialized_members === null && !view.error ? h('p', {}, 'Syncs read a segment’s members from its last build. ', buildSegmentsButton(() => window.dispatchEvent(new HashChangeEvent('hashchange')))) : null,
      view.origin === 'api' ? h('div', { class: 'row' }, h('a', { class: 'button secondary', href: `#/segments/${encodeURIComponent(name)}/edit` }, 'Edit rules'), deleteControl(name)) : null,
    ];
  });
  return [
    h('p', {}, h('a', { href: '#/segments' }, '← All segments')),
    h('h1', {}, name),
    head,
    h('h2', {}, 'Size by condition group'),
    slot(async () => {
      const size = await api('GET', path('segments', name, 'size'));
      const max = Math.max(1, ...size.steps.map((s) => s.count));
      return [
        h('p', {}, 'Members now: ', h('strong', { 'data-size': size.size }, fmt(size.size))),
        table(
          [
            { key: 'step', title: '#', num: true, cell: (s) => String(size.steps.indexOf(s) + 1) },
            { key: 'label', title: 'After condition group' },
            { key: 'count', title: 'Count', num: true, cell: (s) => [bar(s.count / max), fmt(s.count)] },
          ],
          size.steps,
          { id: 'steps', label: 'Size by condition group', empty: 'This segment has no condition groups (SQL segment).' },
        ),
      ];
    }),
    h('h2', {}, 'Preview (personal data masked)'),
    slot(async () => {
      const { rows } = await api('GET', `${path('segments', name, 'preview')}?limit=10`);
      const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
      return table(
        keys.map((k) => ({ key: k, title: k })),
        rows,
        { id: 'preview', label: 'Preview', empty: 'No members.' },
      );
    }),
    h('h2', {}, 'Overlap with other segments'),
    slot(async () => {
      const { segments } = await api('GET', '/segments');
      const self = segments.find((s) => s.name === name);
      if (self && self.error) return h('p', { class: 'muted' }, 'A segment that cannot be planned cannot be compared.');
      const others = segments.filter((s) => s.name !== name && !s.error && (!self || s.over === self.over));
      if (!others.length) return h('p', { class: 'muted' }, 'No other segment of the same kind to compare with.');
      const boxes = others.map((s) => h('input', { type: 'checkbox', name: 'overlap', value: s.name, id: `ov-${s.name}` }));
      const button = h('button', { type: 'submit' }, 'Compare');
      return h(
        'form',
        {
          onsubmit: async (event) => {
            event.preventDefault();
            const picked = boxes.filter((b) => b.checked).map((b) => b.value);
            if (!picked.length) {
              overlapResult.replaceChildren(errorBox(new ApiError(-1, 'Pick at least one segment to compare with.')));
              return;
            }
            button.disabled = true;
            overlapResult.replaceChildren(h('p', { class: 'muted' }, 'Comparing…'));
            try {
              const result = await api('GET', `/segments/overlap?names=${[name, ...picked].map(encodeURIComponent).join(',')}`);
              overlapResult.replaceChildren(
                table(
                  [
                    { key: 'a', title: 'Segment A' },
                    { key: 'sa', title: 'Size A', num: true, cell: (p) => fmt(result.sizes[p.a]) },
                    { key: 'b', title: 'Segment B' },
                    { key: 'sb', title: 'Size B', num: true, cell: (p) => fmt(result.sizes[p.b]) },
                    { key: 'both', title: 'In both', num: true, cell: (p) => fmt(p.both) },
                  ],
                  result.pairs,
                  { id: 'overlap', label: 'Overlap' },
                ),
              );
            } catch (error) {
              overlapResult.replaceChildren(errorBox(error));
            } finally {
              button.disabled = false;
            }
          },
        },
        h('fieldset', {}, h('legend', {}, 'Compare with'), others.map((s, i) => h('label', { class: 'check', for: `ov-${s.name}` }, boxes[i], s.name))),
        button,
      );
    }),
    overlapResult,
    h('h2', {}, 'SQL'),
    slot(async () => sqlBlock(await viewed)),
  ];
}

function sqlBlock(view) {
  const definition = view.definition ? h('details', {}, h('summary', {}, 'Definition (as in segments/*.yml)'), h('pre', { class: 'code', tabindex: '0' }, h('code', {}, JSON.stringify(view.definition, null, 2)))) : null;
  if (typeof view.sql !== 'string') return [h('p', { class: 'muted' }, view.error ? 'No SQL: the segment cannot be planned (see above).' : 'The API does not show this segment’s SQL.'), definition];
  return [
    h('pre', { class: 'code', tabindex: '0', role: 'region', 'aria-label': `SQL of ${view.name}`, 'data-sql': '' }, h('code', {}, view.sql)),
    definition,
  ];
}
