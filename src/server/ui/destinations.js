// Destinations: the list (with a connection test per row), and a form to create or edit one:
// pick a type, fill the form generated from its config schema (secrets are password inputs,
// write-only), save, then test the connection — a failure says why, in words.

import { api, ApiError, path } from './api.js';
import { announce, clearInvalid, errorBox, field, FieldIssues, h, IDENTIFIER, markInvalid, showFormError, slot, table, when } from './dom.js';
import { schemaForm } from './schema-form.js';

/** "Test connection": the result replaces `out` (ok as a status line, failure as an alert). */
export function testButton(name, out) {
  const button = h('button', { type: 'button', class: 'secondary', 'data-test-destination': name, 'aria-label': `Test connection to ${name}` }, 'Test connection');
  button.addEventListener('click', async () => {
    button.disabled = true;
    out.replaceChildren(h('p', { class: 'muted' }, `Testing ${name}…`));
    try {
      const result = await api('POST', path('destinations', name, 'test'), {});
      if (result.ok) {
        out.replaceChildren(h('p', { class: 'ok', role: 'status', 'data-test-result': 'ok' }, '✓ ', result.message));
      } else {
        out.replaceChildren(h('div', { class: 'error', role: 'alert', 'data-test-result': 'failed' }, h('strong', {}, 'The connection test failed: '), result.message));
      }
      announce(result.ok ? `Connection to ${name} works` : `Connection to ${name} failed`);
    } catch (error) {
      out.replaceChildren(errorBox(error));
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

export function destinationsPage() {
  return [
    h('div', { class: 'title-row' }, h('h1', {}, 'Destinations'), h('a', { class: 'button', href: '#/destinations/new' }, 'New destination')),
    slot(async () => {
      const destinations = await api('GET', '/destinations');
      const results = new Map(destinations.map((d) => [d.name, h('div', { 'aria-live': 'polite', 'data-test-out': d.name })]));
      return table(
        [
          { key: 'name', title: 'Destination', cell: (d) => (d.origin === 'api' ? h('a', { href: `#/destinations/${encodeURIComponent(d.name)}/edit` }, d.name) : d.name) },
          { key: 'type', title: 'Type' },
          { key: 'origin', title: 'Defined in', cell: (d) => (d.origin === 'api' ? 'the UI / API' : 'destinations.yml') },
          { key: 'secrets', title: 'Secrets', cell: (d) => Object.entries(d.secrets).map(([k, v]) => `${k}: ${v}`).join(', ') || '—' },
          { key: 'updated_at', title: 'Updated', cell: (d) => when(d.updated_at) },
          { key: 'test', title: 'Connection', cell: (d) => [testButton(d.name, results.get(d.name)), results.get(d.name)] },
        ],
        destinations,
        { id: 'destinations', label: 'Destinations', empty: 'No destinations yet.' },
      );
    }),
  ];
}

/** Create (`#/destinations/new`) or edit (`#/destinations/NAME/edit`) an API destination. */
export function destinationFormPage({ name }) {
  const editing = Boolean(name);
  const body = slot(async () => {
    const [types, destinations] = await Promise.all([api('GET', '/destination-types'), api('GET', '/destinations')]);
    const existing = editing ? destinations.find((d) => d.name === name) : undefined;
    if (editing && !existing) throw new ApiError(404, `no destination ${name}`);
    if (existing && existing.origin !== 'api') throw new ApiError(-1, `${name} is defined in destinations.yml; change it there.`);
    return form(types, destinations, existing);
  });
  return [h('p', {}, h('a', { href: '#/destinations' }, '← All destinations')), h('h1', {}, editing ? `Edit ${name}` : 'New destination'), body];
}

function form(types, destinations, existing) {
  let stored = existing; // after the first save, the form edits what it saved
  const issues = new FieldIssues();
  const box = h('div', { 'aria-live': 'polite' });
  const after = h('div', { class: 'after-save', 'aria-live': 'polite' });
  const categories = [...new Set(types.map((t) => t.category))];
  const typeSelect = h(
    'select',
    { name: 'type', disabled: Boolean(existing) },
    h('option', { value: '' }, '— choose a type —'),
    categories.map((c) => h('optgroup', { label: c.toUpperCase() === 'CRM' ? 'CRM' : c[0].toUpperCase() + c.slice(1) }, types.filter((t) => t.category === c).map((t) => h('option', { value: t.type, selected: existing && existing.type === t.type }, t.title)))),
  );
  const nameInput = h('input', { type: 'text', name: 'name', value: existing ? existing.name : '', readonly: Boolean(existing), autocomplete: 'off', spellcheck: 'false' });
  const description = h('input', { type: 'text', name: 'description', value: existing && existing.description ? existing.description : '', autocomplete: 'off' });
  const configHolder = h('div', { 'data-config-form': '' });
  let current;

  const showType = () => {
    const type = types.find((t) => t.type === typeSelect.value);
    issues.reset();
    issues.register('name', nameInput);
    issues.register('type', typeSelect);
    issues.register('description', description);
    if (!type) {
      current = undefined;
      configHolder.replaceChildren(h('p', { class: 'muted' }, 'Choose a type to see its settings.'));
      return;
    }
    current = { type, form: schemaForm(type.config_schema, { values: stored ? stored.config : {}, secrets: stored ? stored.secrets : {}, issues }) };
    const objects = Object.entries(type.objects);
    configHolder.replaceChildren(
      h('fieldset', {}, h('legend', {}, `${type.title} settings`), current.form.el),
      h('details', { class: 'objects' }, h('summary', {}, `What ${type.title} receives (${objects.length} object${objects.length === 1 ? '' : 's'})`), h('ul', {}, objects.map(([o, spec]) => h('li', {}, h('strong', {}, o), ` — key ${spec.key}; modes ${spec.modes.join(', ')}${spec.description ? `. ${spec.description}` : ''}`)))),
    );
  };
  typeSelect.addEventListener('change', showType);
  showType();

  const save = h('button', { type: 'submit' }, existing ? 'Save changes' : 'Save destination');
  const el = h(
    'form',
    {
      novalidate: true,
      'data-form': 'destination',
      onsubmit: async (event) => {
        event.preventDefault();
        clearInvalid(el);
        box.replaceChildren();
        const problems = [];
        const destName = nameInput.value.trim();
        if (!stored) {
          if (!IDENTIFIER.test(destName)) problems.push({ el: nameInput, message: 'A name of letters, digits and _, e.g. hubspot_prod.' });
          else if (destinations.some((d) => d.name === destName)) problems.push({ el: nameInput, message: `A destination named ${destName} exists already; choose another name.` });
        }
        if (!current) problems.push({ el: typeSelect, message: 'Choose a type.' });
        const { config, problems: configProblems } = current ? current.form.read() : { config: {}, problems: [] };
        problems.push(...configProblems);
        if (problems.length) {
          for (const p of problems) markInvalid(p.el, p.message);
          box.replaceChildren(errorBox(new ApiError(-1, `${problems.length} problem(s) are marked next to their fields.`)));
          problems[0].el.focus();
          return;
        }
        save.disabled = true;
        try {
          const payload = { type: current.type.type, config };
          if (description.value.trim()) payload.description = description.value.trim();
          const saved = await api('PUT', path('destinations', destName), payload);
          announce(`Destination ${destName} saved`);
          const out = h('div', { 'aria-live': 'polite', 'data-test-out': destName });
          const test = testButton(destName, out);
          after.replaceChildren(
            h('p', { class: 'ok', role: 'status', 'data-saved': destName }, `✓ Saved ${saved.name} (${saved.type}). Secrets: ${Object.entries(saved.secrets).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}.`),
            h('div', { class: 'row' }, test, h('a', { href: `#/syncs/new?destination=${encodeURIComponent(destName)}` }, 'Create a sync to it'), h('a', { href: '#/destinations' }, 'All destinations')),
            out,
          );
          if (!stored) {
            nameInput.readOnly = true;
            typeSelect.disabled = true;
          }
          stored = saved;
          save.textContent = 'Save changes';
          showType(); // secrets now show as stored
          test.focus();
        } catch (error) {
          showFormError(box, error, issues);
        } finally {
          save.disabled = false;
        }
      },
    },
    h('div', { class: 'row align-top' }, field('Type', typeSelect), field('Name', nameInput, { hint: 'letters, digits and _; syncs refer to it' }), field('Description', description, { class: 'grow' })),
    configHolder,
    box,
    h('div', { class: 'row' }, save),
    after,
  );
  return el;
}
