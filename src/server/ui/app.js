// warehouse-cdp web UI (issue 7), first cut. Vanilla JS, no build step, hash routing.
// Every screen is built from REST API calls carrying the user's API token (kept in
// sessionStorage only); the UI has no power the API lacks. Errors are shown inline, never
// thrown: each async render catches and renders its own error box.

const TOKEN_KEY = 'cdp.token';
const main = document.getElementById('main');
const statusLine = document.getElementById('status');
const signout = document.getElementById('signout');

class ApiError extends Error {
  constructor(status, message, issues, hint) {
    super(message);
    this.status = status;
    this.issues = issues || [];
    this.hint = hint;
  }
}

const getToken = () => sessionStorage.getItem(TOKEN_KEY);

async function api(method, path, body, token = getToken()) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'The API cannot be reached. Is `cdp serve` running?');
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const message = (data && data.message) || `HTTP ${response.status}`;
    throw new ApiError(response.status, message, data && data.issues, data && data.hint);
  }
  return data;
}

/** Builds an element; strings become text nodes (never HTML). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const fmt = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : n === null || n === undefined ? '—' : String(n));
const show = (value) => (value === null || value === undefined ? '—' : typeof value === 'object' ? JSON.stringify(value) : String(value));

function errorBox(error) {
  const e = error instanceof ApiError ? error : new ApiError(-1, (error && error.message) || String(error));
  const title = e.status === 401 ? 'Not signed in, or the token is not valid: ' : e.status === 403 ? 'This token may not do that: ' : e.status === 0 ? '' : e.status > 0 ? `Error ${e.status}: ` : 'Error: ';
  return h(
    'div',
    { class: 'error', role: 'alert', 'data-status': e.status },
    h('strong', {}, title),
    e.message,
    e.hint ? h('div', {}, `Hint: ${e.hint}`) : null,
    e.issues.length ? h('ul', {}, e.issues.map((i) => h('li', {}, h('code', {}, i.path || '(body)'), `: ${i.message}`))) : null,
    e.status === 401 && !location.hash.startsWith('#/signin') ? h('div', {}, h('a', { href: '#/signin' }, 'Sign in again')) : null,
  );
}

/** Runs an async filler into a placeholder; its error replaces the placeholder inline. */
function slot(fill, loading = 'Loading…') {
  const holder = h('div', { class: 'slot', 'aria-busy': 'true' }, h('p', { class: 'muted' }, loading));
  Promise.resolve()
    .then(fill)
    .then((content) => holder.replaceChildren(...[content].flat().filter(Boolean)))
    .catch((error) => holder.replaceChildren(errorBox(error)))
    .finally(() => holder.removeAttribute('aria-busy'));
  return holder;
}

function table(columns, rows, options = {}) {
  if (!rows.length) return h('p', { class: 'muted' }, options.empty || 'Nothing here yet.');
  return h(
    'div',
    { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': options.label || 'table' },
    h(
      'table',
      { 'data-table': options.id },
      options.caption ? h('caption', { class: 'visually-hidden' }, options.caption) : null,
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.title)))),
      h('tbody', {}, rows.map((row) => h('tr', {}, columns.map((c) => h('td', { class: c.num ? 'num' : null, 'data-col': c.key }, c.cell ? c.cell(row) : show(row[c.key])))))),
    ),
  );
}

function announce(text) {
  statusLine.textContent = text;
}

// ---- pages -------------------------------------------------------------------------------

function signInPage(params) {
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const feedback = h('div', { 'aria-live': 'polite' });
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    {
      class: 'inline',
      onsubmit: async (event) => {
        event.preventDefault();
        const token = input.value.trim();
        feedback.replaceChildren();
        if (!token) {
          feedback.replaceChildren(errorBox(new ApiError(-1, 'Enter an API token.')));
          return;
        }
        button.disabled = true;
        try {
          await api('GET', '/syncs', undefined, token); // any read call: proves the token works
          sessionStorage.setItem(TOKEN_KEY, token);
          const target = params.next && params.next !== '#/signin' ? params.next : '#/segments';
          if (location.hash === target) render();
          else location.hash = target;
        } catch (error) {
          feedback.replaceChildren(errorBox(error));
          input.focus();
        } finally {
          button.disabled = false;
        }
      },
    },
    h('label', { for: 'token' }, 'API token', input),
    button,
  );
  return [
    h('h1', {}, 'Sign in'),
    h('p', {}, 'Paste an API token (', h('code', {}, 'cdp keys create --name NAME --scope write'), '). It is kept in this browser tab only.'),
    form,
    feedback,
  ];
}

function segmentsPage() {
  return [
    h('h1', {}, 'Segments'),
    slot(async () => {
      const { segments } = await api('GET', '/segments');
      return table(
        [
          { key: 'name', title: 'Segment', cell: (s) => h('a', { href: `#/segments/${encodeURIComponent(s.name)}` }, s.name) },
          { key: 'description', title: 'Description' },
          { key: 'over', title: 'Over' },
          { key: 'kind', title: 'Kind' },
          { key: 'size', title: 'Size', num: true, cell: (s) => sizeCell(s) },
        ],
        segments,
        { id: 'segments', label: 'Segments', empty: 'No segments yet: add segments/*.yml to the project.' },
      );
    }),
  ];
}

function sizeCell(segment) {
  if (typeof segment.materialized_members === 'number') return h('span', { title: 'members at the last materialisation' }, fmt(segment.materialized_members));
  const cell = h('span', { class: 'muted', 'aria-busy': 'true' }, '…');
  api('GET', `/segments/${encodeURIComponent(segment.name)}/size`)
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

/** A bar as wide as the share (CSSOM style: allowed by the page's CSP, unlike style attributes). */
function bar(share) {
  const el = h('span', { class: 'bar' });
  el.style.width = `${Math.round(Math.max(0, Math.min(1, share)) * 100)}%`;
  return h('span', { class: 'track', 'aria-hidden': 'true' }, el);
}

function segmentPage({ name }) {
  const overlapResult = h('div', { 'aria-live': 'polite' });
  return [
    h('p', {}, h('a', { href: '#/segments' }, '← All segments')),
    h('h1', {}, name),
    h('h2', {}, 'Size by condition group'),
    slot(async () => {
      const size = await api('GET', `/segments/${encodeURIComponent(name)}/size`);
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
      const { rows } = await api('GET', `/segments/${encodeURIComponent(name)}/preview?limit=10`);
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
      const others = segments.filter((s) => s.name !== name && (!self || s.over === self.over));
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
  ];
}

function profilesPage(params) {
  const type = h('input', { id: 'ptype', name: 'type', type: 'text', list: 'ptypes', required: true, value: params.type || 'email', autocomplete: 'off' });
  const value = h('input', { id: 'pvalue', name: 'value', type: 'text', required: true, value: params.value || '', autocomplete: 'off', spellcheck: 'false' });
  const result = h('div', { 'aria-live': 'polite' });
  const button = h('button', { type: 'submit' }, 'Look up');
  const lookup = async () => {
    button.disabled = true;
    result.replaceChildren(h('p', { class: 'muted' }, 'Looking up…'));
    try {
      const p = await api('GET', `/profiles/lookup?type=${encodeURIComponent(type.value.trim())}&value=${encodeURIComponent(value.value)}`);
      result.replaceChildren(profileView(p));
    } catch (error) {
      result.replaceChildren(errorBox(error));
    } finally {
      button.disabled = false;
    }
  };
  if (params.value) void lookup();
  return [
    h('h1', {}, 'Profile lookup'),
    h(
      'form',
      {
        class: 'inline',
        onsubmit: (event) => {
          event.preventDefault();
          void lookup();
        },
      },
      h('label', { for: 'ptype' }, 'Identifier type', type),
      h('datalist', { id: 'ptypes' }, ['email', 'phone', 'user_id', 'anonymous_id'].map((t) => h('option', { value: t }))),
      h('label', { for: 'pvalue' }, 'Value', value),
      button,
    ),
    result,
  ];
}

function profileView(p) {
  return h(
    'section',
    { 'data-profile': p.profile_id },
    h('h2', {}, 'Profile ', h('code', {}, p.profile_id)),
    h('p', { class: 'muted' }, `Found by ${p.lookup.type} ${p.lookup.value}`),
    h('h2', {}, 'Traits'),
    Object.keys(p.traits).length
      ? h('dl', { class: 'kv', 'data-traits': '' }, Object.entries(p.traits).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, show(v))]))
      : h('p', { class: 'muted' }, 'No traits.'),
    h('h2', {}, 'Identifiers'),
    table([{ key: 'type', title: 'Type' }, { key: 'value', title: 'Value' }], p.identifiers, { id: 'identifiers', label: 'Identifiers' }),
    h('h2', {}, 'Segments'),
    p.segments.length ? h('ul', { class: 'chips' }, p.segments.map((s) => h('li', {}, h('a', { href: `#/segments/${encodeURIComponent(s)}` }, s)))) : h('p', { class: 'muted' }, 'In no segment.'),
  );
}

const RUN_COLUMNS = [
  { key: 'started_at', title: 'Started', cell: (r) => new Date(r.started_at).toLocaleString() },
  { key: 'status', title: 'Status' },
  { key: 'trigger', title: 'Trigger' },
  ...['added', 'changed', 'removed', 'rejected'].map((k) => ({ key: k, title: k[0].toUpperCase() + k.slice(1), num: true, cell: (r) => fmt(r.counts ? r.counts[k] : null) })),
  { key: 'message', title: 'Message' },
];

function runsTable(name, limit) {
  return slot(async () => table(RUN_COLUMNS, await api('GET', `/syncs/${encodeURIComponent(name)}/runs?limit=${limit}`), { id: `runs-${name}`, label: `Runs of ${name}`, empty: 'No runs yet.' }));
}

/** "Run now": trigger a job, follow it, then refresh the run history in place. */
function runNowButton(name, onDone) {
  const note = h('span', { 'aria-live': 'polite', 'data-run-note': name });
  const button = h(
    'button',
    {
      type: 'button',
      'data-run': name,
      onclick: async () => {
        button.disabled = true;
        note.className = '';
        note.textContent = 'Queued…';
        try {
          let job = await api('POST', `/syncs/${encodeURIComponent(name)}/trigger`, {});
          const deadline = Date.now() + 10 * 60 * 1000;
          while ((job.status === 'queued' || job.status === 'running') && Date.now() < deadline) {
            note.textContent = job.status === 'running' ? 'Running…' : 'Queued…';
            await new Promise((resolve) => setTimeout(resolve, 300));
            job = await api('GET', `/jobs/${encodeURIComponent(job.id)}`);
          }
          note.className = job.status === 'success' ? 'ok' : 'error';
          note.textContent = `Run ${job.status}.`;
          announce(`Sync ${name}: run ${job.status}`);
        } catch (error) {
          note.replaceChildren(errorBox(error));
        } finally {
          button.disabled = false;
          onDone();
        }
      },
    },
    'Run now',
  );
  return h('span', { class: 'row' }, button, note);
}

function syncsPage() {
  return [
    h('h1', {}, 'Syncs'),
    slot(async () => {
      const syncs = await api('GET', '/syncs');
      if (!syncs.length) return h('p', { class: 'muted' }, 'No syncs yet.');
      return syncs.map((s) => {
        const runsHolder = h('div', {}, runsTable(s.name, 5));
        return h(
          'section',
          { class: 'card', 'data-sync': s.name },
          h('h2', {}, h('a', { href: `#/syncs/${encodeURIComponent(s.name)}` }, s.name)),
          h('p', { class: 'muted' }, `→ ${s.destination} · ${s.object} · ${s.mode} · ${s.enabled ? 'enabled' : 'paused'} · schedule ${show(s.schedule)}${s.next_fire_at ? ` · next ${new Date(s.next_fire_at).toLocaleString()}` : ''}`),
          runNowButton(s.name, () => runsHolder.replaceChildren(runsTable(s.name, 5))),
          h('h3', {}, 'Recent runs'),
          runsHolder,
        );
      });
    }),
  ];
}

function syncPage({ name }) {
  const runsHolder = h('div', {}, runsTable(name, 20));
  const rejectedHolder = h('div', {}, rejectedView(name));
  return [
    h('p', {}, h('a', { href: '#/syncs' }, '← All syncs')),
    h('h1', {}, name),
    slot(async () => {
      const s = await api('GET', `/syncs/${encodeURIComponent(name)}`);
      return h('p', { class: 'muted' }, `→ ${s.destination} · ${s.object} · ${s.mode} · ${s.enabled ? 'enabled' : 'paused'} · ${s.origin === 'file' ? `defined in ${s.file}` : 'defined through the API'}`);
    }),
    runNowButton(name, () => {
      runsHolder.replaceChildren(runsTable(name, 20));
      rejectedHolder.replaceChildren(rejectedView(name));
    }),
    h('h2', {}, 'Run history'),
    runsHolder,
    h('h2', {}, 'Rejected rows'),
    rejectedHolder,
  ];
}

function rejectedView(name) {
  return slot(async () => {
    const { total, rows } = await api('GET', `/syncs/${encodeURIComponent(name)}/rejected?limit=100`);
    const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
    return [
      h('p', { 'data-rejected-total': total }, `${fmt(total)} row(s) rejected by the destination${total > rows.length ? ` (first ${rows.length} shown)` : ''}.`),
      rows.length ? table(keys.map((k) => ({ key: k, title: k })), rows, { id: 'rejected', label: 'Rejected rows' }) : null,
    ];
  });
}

// ---- router ------------------------------------------------------------------------------

const ROUTES = [
  { re: /^#\/signin$/, page: signInPage, nav: null, open: true },
  { re: /^#\/segments$/, page: segmentsPage, nav: 'segments' },
  { re: /^#\/segments\/([A-Za-z_][A-Za-z0-9_]*)$/, page: (p) => segmentPage(p), nav: 'segments', names: ['name'] },
  { re: /^#\/profiles$/, page: profilesPage, nav: 'profiles' },
  { re: /^#\/syncs$/, page: syncsPage, nav: 'syncs' },
  { re: /^#\/syncs\/([A-Za-z_][A-Za-z0-9_]*)$/, page: (p) => syncPage(p), nav: 'syncs', names: ['name'] },
];

function render() {
  try {
    const raw = location.hash || '#/segments';
    const [path, search = ''] = raw.split('?');
    const params = Object.fromEntries(new URLSearchParams(search));
    signout.hidden = !getToken();
    let route = ROUTES.find((r) => r.re.test(path));
    if (!route) {
      main.replaceChildren(h('h1', {}, 'Not found'), h('p', {}, 'No page at this address. ', h('a', { href: '#/segments' }, 'Go to segments')));
      return;
    }
    if (!route.open && !getToken()) {
      params.next = raw;
      route = ROUTES[0];
    }
    const match = path.match(route.re);
    (route.names || []).forEach((n, i) => (params[n] = decodeURIComponent(match[i + 1])));
    for (const a of document.querySelectorAll('[data-nav]')) {
      if (a.dataset.nav === route.nav) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    main.replaceChildren(...[route.page(params)].flat().filter(Boolean));
    const heading = main.querySelector('h1');
    document.title = heading ? `${heading.textContent} · warehouse-cdp` : 'warehouse-cdp';
    main.focus({ preventScroll: true });
  } catch (error) {
    main.replaceChildren(errorBox(error));
  }
}

signout.addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  location.hash = '#/signin';
  render();
});
window.addEventListener('hashchange', render);
window.addEventListener('unhandledrejection', (event) => {
  event.preventDefault();
  main.append(errorBox(event.reason));
});
render();
