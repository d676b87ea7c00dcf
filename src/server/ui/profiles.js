// Profile lookup: find a person by email, phone or any identifier type of identity.yml,
// then see the profile's identifiers, how they were joined (the merge path: from the
// looked-up identifier through the identifiers each one shared a source row with, limit
// rejections, merges and splits over runs), traits and current segments.

import { api, path } from './api.js';
import { errorBox, field, h, show, table, when } from './dom.js';

const TYPES = ['email', 'phone', 'user_id', 'anonymous_id', 'device_id'];

export function profilesPage(params) {
  const type = h('input', { type: 'text', list: 'ptypes', required: true, value: params.type || 'email', autocomplete: 'off', spellcheck: 'false' });
  const value = h('input', { type: 'text', required: true, value: params.value || '', autocomplete: 'off', spellcheck: 'false' });
  const result = h('div', { 'aria-live': 'polite' });
  const button = h('button', { type: 'submit' }, 'Look up');
  const lookup = async () => {
    button.disabled = true;
    result.setAttribute('aria-busy', 'true');
    result.replaceChildren(h('p', { class: 'muted' }, 'Looking up…'));
    try {
      const p = await api('GET', `/profiles/lookup?type=${encodeURIComponent(type.value.trim())}&value=${encodeURIComponent(value.value)}&merge_path=true`);
      result.replaceChildren(profileView(p));
    } catch (error) {
      result.replaceChildren(errorBox(error));
    } finally {
      button.disabled = false;
      result.removeAttribute('aria-busy');
    }
  };
  if (params.value) void lookup();
  return [
    h('h1', {}, 'Profile lookup'),
    h(
      'form',
      {
        class: 'inline',
        role: 'search',
        onsubmit: (event) => {
          event.preventDefault();
          if (!value.value.trim()) {
            result.replaceChildren(errorBox(new Error('Enter an email, phone number or id to look up.')));
            value.focus();
            return;
          }
          void lookup();
        },
      },
      field('Identifier type', type, { hint: 'email, phone, user_id …' }),
      h('datalist', { id: 'ptypes' }, TYPES.map((t) => h('option', { value: t }))),
      field('Value', value),
      button,
    ),
    result,
  ];
}

const ident = (i) => h('code', {}, `${i.type}:${i.value}`);

/** How the identifiers were joined: the path from the looked-up one, refused edges, merges/splits over runs. */
function mergePath(p) {
  const merge = p.merge_path;
  if (!merge) return h('p', { class: 'muted', 'data-merge-path': 'unavailable' }, 'The API did not give this profile’s merge path (`cdp identity explain` shows it).');
  const steps = merge.steps || [];
  const rejected = merge.rejected || [];
  const history = merge.history || [];
  return h(
    'div',
    { 'data-merge-path': String(steps.length) },
    steps.length
      ? h(
          'ol',
          { class: 'merge-path', 'aria-label': `How the identifiers joined, from ${p.lookup.type}:${p.lookup.value}` },
          h('li', { 'data-merge-start': '' }, ident(p.lookup), ' — looked up'),
          steps.map((step) =>
            h(
              'li',
              { 'data-merge-step': `${step.identifier.type}:${step.identifier.value}` },
              ident(step.identifier),
              ' joined through ',
              ident(step.joined_via),
              h('span', { class: 'muted', 'data-merge-rule': '' }, ` — ${step.rule}${step.first_seen ? `, since ${when(step.first_seen)}` : ''}`),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'One identifier: nothing was merged.'),
    merge.truncated ? h('p', { class: 'muted' }, `Only the oldest ${merge.edges.length} links are shown.`) : null,
    rejected.length
      ? [
          h('h4', {}, 'Kept apart by a limit'),
          table(
            [
              { key: 'identifier', title: 'Identifier', cell: (r) => ident(r.identifier) },
              { key: 'other', title: 'Not joined with', cell: (r) => ident(r.other) },
              { key: 'reason', title: 'Why' },
              { key: 'sources', title: 'Sources' },
            ],
            rejected,
            { id: 'merge-rejected', label: 'Links refused by a limit' },
          ),
        ]
      : null,
    history.length
      ? [
          h('h4', {}, 'Merges and splits'),
          table(
            [
              { key: 'run', title: 'Identity run', num: true },
              { key: 'kind', title: 'Change' },
              { key: 'from_profile_id', title: 'From' },
              { key: 'to_profile_id', title: 'To' },
              { key: 'merged_at', title: 'When', cell: (r) => when(r.merged_at) },
            ],
            history,
            { id: 'merges', label: 'Merges and splits' },
          ),
        ]
      : null,
  );
}

function profileView(p) {
  return h(
    'section',
    { 'data-profile': p.profile_id },
    h('h2', {}, 'Profile ', h('code', {}, p.profile_id)),
    h('p', { class: 'muted' }, `Found by ${p.lookup.type} ${p.lookup.value}`),
    h('div', { class: 'columns' },
      h(
        'div',
        {},
        h('h3', {}, 'Traits'),
        Object.keys(p.traits).length
          ? h('dl', { class: 'kv', 'data-traits': '' }, Object.entries(p.traits).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, show(v))]))
          : h('p', { class: 'muted' }, 'No traits.'),
      ),
      h(
        'div',
        {},
        h('h3', {}, 'Segments'),
        p.segments.length ? h('ul', { class: 'chips' }, p.segments.map((s) => h('li', {}, h('a', { href: `#${path('segments', s)}` }, s)))) : h('p', { class: 'muted' }, 'In no segment.'),
        h('h3', {}, 'Identifiers'),
        table([{ key: 'type', title: 'Type' }, { key: 'value', title: 'Value' }], p.identifiers, { id: 'identifiers', label: 'Identifiers' }),
      ),
    ),
    h('h3', {}, 'Merge path'),
    mergePath(p),
  );
}
