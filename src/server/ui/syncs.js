// Syncs: the list (recent runs, run now) and one sync's page — run history as a chart of
// added / changed / removed / rejected plus the table, rejected rows with the destination's
// reasons and a retry, run now, and pause/resume (API syncs: enabled false/true; file syncs
// are paused in their file).

import { api, followJob, path } from './api.js';
import { runChart } from './chart.js';
import { announce, errorBox, fmt, h, show, slot, table, when } from './dom.js';

const RUN_COLUMNS = [
  { key: 'started_at', title: 'Started', cell: (r) => when(r.started_at) },
  { key: 'status', title: 'Status' },
  { key: 'trigger', title: 'Trigger' },
  ...['added', 'changed', 'removed', 'rejected'].map((k) => ({ key: k, title: k[0].toUpperCase() + k.slice(1), num: true, cell: (r) => fmt(r.counts ? r.counts[k] : null) })),
  { key: 'message', title: 'Message' },
];

const fetchRuns = (name, limit) => api('GET', `${path('syncs', name, 'runs')}?limit=${limit}`);

function runsTable(name, limit) {
  return slot(async () => table(RUN_COLUMNS, await fetchRuns(name, limit), { id: `runs-${name}`, label: `Runs of ${name}`, empty: 'No runs yet.' }));
}

/** A button that starts a job (run, retry), follows it, says how it ended, then calls `onDone`. */
function jobButton(label, name, start, onDone, attrs = {}) {
  const note = h('span', { 'aria-live': 'polite', 'data-run-note': name });
  const button = h(
    'button',
    {
      type: 'button',
      ...attrs,
      onclick: async () => {
        button.disabled = true;
        note.className = '';
        note.textContent = 'Queued…';
        try {
          const job = await followJob(await start(), (j) => (note.textContent = j.status === 'running' ? 'Running…' : 'Queued…'));
          note.className = job.status === 'success' ? 'ok' : 'error';
          note.textContent = `Run ${job.status}.${job.status !== 'success' && job.message ? ` ${job.message}` : ''}`;
          announce(`Sync ${name}: run ${job.status}`);
        } catch (error) {
          note.replaceChildren(errorBox(error));
        } finally {
          button.disabled = false;
          onDone();
        }
      },
    },
    label,
  );
  return h('span', { class: 'row' }, button, note);
}

const runNowButton = (name, onDone) => jobButton('Run now', name, () => api('POST', path('syncs', name, 'trigger'), {}), onDone, { 'data-run': name });

const describe = (s) => `→ ${s.destination} · ${s.object} · ${s.mode} · ${s.enabled ? 'enabled' : 'paused'} · schedule ${typeof s.schedule === 'string' ? s.schedule : show(s.schedule)}${s.enabled && s.next_fire_at ? ` · next ${when(s.next_fire_at)}` : ''}`;

export function syncsPage() {
  return [
    h('div', { class: 'title-row' }, h('h1', {}, 'Syncs'), h('a', { class: 'button', href: '#/syncs/new' }, 'New sync')),
    slot(async () => {
      const syncs = await api('GET', '/syncs');
      if (!syncs.length) return h('p', { class: 'muted' }, 'No syncs yet: create one with “New sync”.');
      return syncs.map((s) => {
        const runsHolder = h('div', {}, runsTable(s.name, 5));
        return h(
          'section',
          { class: 'card', 'data-sync': s.name },
          h('h2', {}, h('a', { href: `#/syncs/${encodeURIComponent(s.name)}` }, s.name)),
          h('p', { class: 'muted' }, describe(s)),
          runNowButton(s.name, () => runsHolder.replaceChildren(runsTable(s.name, 5))),
          h('h3', {}, 'Recent runs'),
          runsHolder,
        );
      });
    }),
  ];
}

/** Pause / resume: an API sync is saved with enabled flipped; a file sync is changed in its file. */
function pauseControl(sync, refresh) {
  if (sync.origin !== 'api') {
    return h(
      'span',
      { class: 'row' },
      h('button', { type: 'button', class: 'secondary', disabled: true, 'aria-describedby': 'pause-why' }, sync.enabled ? 'Pause' : 'Resume'),
      h('span', { id: 'pause-why', class: 'hint' }, `Defined in ${sync.file}: set enabled: ${sync.enabled ? 'false' : 'true'} there to ${sync.enabled ? 'pause' : 'resume'} it.`),
    );
  }
  const note = h('span', { 'aria-live': 'polite' });
  const button = h('button', { type: 'button', class: 'secondary', 'data-pause': sync.name }, sync.enabled ? 'Pause' : 'Resume');
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const updated = await api('PUT', path('syncs', sync.name), { ...sync.definition, enabled: !sync.enabled });
      announce(`Sync ${sync.name} ${updated.enabled ? 'resumed' : 'paused'}`);
      refresh(updated.enabled ? 'resume' : 'pause');
    } catch (error) {
      note.replaceChildren(errorBox(error));
      button.disabled = false;
    }
  });
  return h('span', { class: 'row' }, button, note);
}

export function syncPage({ name }) {
  const head = h('div', {});
  const history = h('div', {});
  const rejected = h('div', {});
  const refreshHead = (focus) => {
    head.replaceChildren(
      slot(async () => {
        const s = await api('GET', path('syncs', name));
        const content = [
          h('p', { class: 'muted', 'data-sync-state': s.enabled ? 'enabled' : 'paused' }, `${describe(s)} · ${s.origin === 'file' ? `defined in ${s.file}` : 'defined in the UI / API'}`),
          h('div', { class: 'row' }, runNowButton(name, refreshData), pauseControl(s, refreshHead)),
        ];
        if (focus) setTimeout(() => head.querySelector('[data-pause]')?.focus());
        return content;
      }),
    );
  };
  const refreshData = () => {
    history.replaceChildren(
      slot(async () => {
        const runs = await fetchRuns(name, 30);
        if (!runs.length) return h('p', { class: 'muted', 'data-empty': `runs-${name}` }, 'No runs yet.');
        return [runChart(runs), h('h3', {}, 'Runs'), table(RUN_COLUMNS, runs, { id: `runs-${name}`, label: `Runs of ${name}` })];
      }),
    );
    rejected.replaceChildren(rejectedView(name, refreshData));
  };
  refreshHead();
  refreshData();
  return [h('p', {}, h('a', { href: '#/syncs' }, '← All syncs')), h('h1', {}, name), head, h('h2', {}, 'Run history'), history, h('h2', {}, 'Rejected rows'), rejected];
}

function rejectedView(name, refresh) {
  return slot(async () => {
    const { total, rows } = await api('GET', `${path('syncs', name, 'rejected')}?limit=100`);
    return [
      h('p', { 'data-rejected-total': total }, `${fmt(total)} row(s) rejected by the destination${total > rows.length ? ` (first ${rows.length} shown)` : ''}. They are sent again when their data changes, or now with “Retry rejected rows”.`),
      rows.length
        ? table(
            [
              { key: 'key', title: 'Key' },
              { key: 'reason', title: 'Reason' },
              { key: 'op', title: 'Operation' },
              { key: 'rejected_at', title: 'When', cell: (r) => when(r.rejected_at) },
            ],
            rows,
            { id: 'rejected', label: 'Rejected rows' },
          )
        : null,
      total > 0 ? jobButton('Retry rejected rows', `${name}-retry`, () => api('POST', path('syncs', name, 'retry')), refresh, { 'data-retry': name }) : null,
    ];
  });
}
