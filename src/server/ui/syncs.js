// Syncs: the list (recent runs, run now) and one sync's page — run history as a chart of
// added / changed / removed / rejected plus the table, rejected rows with the destination's
// reasons and a retry, run now, and pause/resume.
//
// Pause/resume is one thing for every sync, file or API: its schedule is paused
// (PATCH /schedules/sync:NAME) — scheduled fires and after: chains stop, "Run now" still
// runs, and the definition is untouched (a file sync stays as reviewed in git). `enabled`
// belongs to the definition: a sync saved disabled (the wizard's preview state, or
// `enabled: false` in a file) has no schedule at all; an API one is enabled here, a file
// one in its file.

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

/** enabled (scheduled), paused (schedule paused) or disabled (in its definition). */
const stateOf = (s, schedule) => (!s.enabled ? 'disabled' : schedule && schedule.paused ? 'paused' : 'enabled');
const STATE_TEXT = { enabled: 'enabled', paused: 'schedule paused', disabled: 'disabled in its definition' };

const describe = (s, schedule) =>
  `→ ${s.destination} · ${s.object} · ${s.mode} · ${STATE_TEXT[stateOf(s, schedule)]} · schedule ${typeof s.schedule === 'string' ? s.schedule : show(s.schedule)}${stateOf(s, schedule) === 'enabled' && s.next_fire_at ? ` · next ${when(s.next_fire_at)}` : ''}`;

/** Each sync's schedule row (`sync:NAME` → view with `paused`). */
async function syncSchedules() {
  const schedules = await api('GET', '/schedules');
  return new Map(schedules.filter((x) => x.key.startsWith('sync:')).map((x) => [x.key.slice('sync:'.length), x]));
}

export function syncsPage() {
  return [
    h('div', { class: 'title-row' }, h('h1', {}, 'Syncs'), h('a', { class: 'button', href: '#/syncs/new' }, 'New sync')),
    slot(async () => {
      const [syncs, schedules] = await Promise.all([api('GET', '/syncs'), syncSchedules()]);
      if (!syncs.length) return h('p', { class: 'muted' }, 'No syncs yet: create one with “New sync”.');
      return syncs.map((s) => {
        const runsHolder = h('div', {}, runsTable(s.name, 5));
        return h(
          'section',
          { class: 'card', 'data-sync': s.name },
          h('h2', {}, h('a', { href: `#/syncs/${encodeURIComponent(s.name)}` }, s.name)),
          h('p', { class: 'muted', 'data-sync-state': stateOf(s, schedules.get(s.name)) }, describe(s, schedules.get(s.name))),
          runNowButton(s.name, () => runsHolder.replaceChildren(runsTable(s.name, 5))),
          h('h3', {}, 'Recent runs'),
          runsHolder,
        );
      });
    }),
  ];
}

/**
 * Pause / resume the sync's schedule (file and API syncs alike). A sync disabled in its
 * definition has no schedule to pause: an API one can be enabled here, a file one is
 * enabled in its file.
 */
function pauseControl(sync, schedule, refresh) {
  const note = h('span', { 'aria-live': 'polite' });
  if (!sync.enabled) {
    if (sync.origin !== 'api') {
      return h('span', { class: 'row' }, h('span', { id: 'pause-why', class: 'hint' }, `Disabled in ${sync.file}: set enabled: true there to schedule it. Run now still runs it.`));
    }
    const enable = h('button', { type: 'button', class: 'secondary', 'data-enable': sync.name }, 'Enable');
    enable.addEventListener('click', async () => {
      enable.disabled = true;
      try {
        await api('PUT', path('syncs', sync.name), { ...sync.definition, enabled: true });
        announce(`Sync ${sync.name} enabled`);
        refresh('pause');
      } catch (error) {
        note.replaceChildren(errorBox(error));
        enable.disabled = false;
      }
    });
    return h('span', { class: 'row' }, enable, note);
  }
  if (!schedule) return h('span', { class: 'hint' }, 'No schedule yet: the server picks the sync up within half a minute.');
  const button = h('button', { type: 'button', class: 'secondary', 'data-pause': sync.name, 'aria-describedby': 'pause-why' }, schedule.paused ? 'Resume' : 'Pause');
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const updated = await api('PATCH', path('schedules', `sync:${sync.name}`), { paused: !schedule.paused });
      announce(`Sync ${sync.name} ${updated.paused ? 'paused' : 'resumed'}`);
      refresh(updated.paused ? 'resume' : 'pause');
    } catch (error) {
      note.replaceChildren(errorBox(error));
      button.disabled = false;
    }
  });
  const why = schedule.paused
    ? 'Scheduled runs are held; Run now still runs it. Resuming counts the next run from now (missed runs are not caught up).'
    : schedule.spec.kind === 'manual'
      ? 'No scheduled runs (schedule: manual). Paused, it stays paused if a schedule is added to its definition later.'
      : `Pausing holds scheduled runs (${schedule.description}) without changing the sync's definition${sync.origin === 'file' ? ` in ${sync.file}` : ''}.`;
  return h('span', { class: 'row' }, button, h('span', { id: 'pause-why', class: 'hint' }, why), note);
}

export function syncPage({ name }) {
  const head = h('div', {});
  const history = h('div', {});
  const rejected = h('div', {});
  const refreshHead = (focus) => {
    head.replaceChildren(
      slot(async () => {
        const [s, schedules] = await Promise.all([api('GET', path('syncs', name)), syncSchedules()]);
        const schedule = schedules.get(name);
        const content = [
          h('p', { class: 'muted', 'data-sync-state': stateOf(s, schedule) }, `${describe(s, schedule)} · ${s.origin === 'file' ? `defined in ${s.file}` : 'defined in the UI / API'}`),
          h('div', { class: 'row' }, runNowButton(name, refreshData), pauseControl(s, schedule, refreshHead)),
        ];
        if (focus) setTimeout(() => head.querySelector('[data-pause], [data-enable]')?.focus());
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
