// Profile lookup: find a person by email, phone or any identifier type of identity.yml,
// then see the profile's identifiers, how they were joined (merge path, when the API gives
// it), traits and current segments.

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
      const p = await api('GET', `/profiles/lookup?type=${encodeURIComponent(type.value.trim())}&value=${encodeURIComponent(value.value)}`);
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

/** How the identifiers were joined: edges with their source, and merges/splits over runs. */
function mergePath(p) {
  const merge = p.merge_path;
  if (!merge) return h('p', { class: 'muted', 'data-merge-path': 'unavailable' }, 'The API does not give this profile’s merge path yet (`cdp identity explain` shows it).');
  const edges = merge.edges || [];
  const history = merge.history || [];
  return [
    edges.length
      ? h(
          'ol',
          { class: 'merge-path', 'data-merge-path': '' },
          edges.map((e) => h('li', {}, h('code', {}, `${e.a_type}:${e.a_value}`), ' ↔ ', h('code', {}, `${e.b_type}:${e.b_value}`), ` — seen together in ${e.source}${e.first_seen ? ` since ${when(e.first_seen)}` : ''}`)),
        )
      : h('p', { class: 'muted' }, 'One identifier: nothing was merged.'),
    history.length ? table([{ key: 'run', title: 'Identity run' }, { key: 'kind', title: 'Change' }, { key: 'from_profile_id', title: 'From' }, { key: 'to_profile_id', title: 'To' }, { key: 'merged_at', title: 'When', cell: (r) => when(r.merged_at) }], history, { id: 'merges', label: 'Merges and splits' }) : null,
  ];
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
