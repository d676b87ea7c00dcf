// The new-sync wizard: source segment → destination → object → mode → field mapping →
// consent purpose → schedule → plan preview → enable. Nothing is sent before the last
// step: the sync is saved paused (enabled: false), its plan is previewed (counts and
// samples, a dry run), and only then enabled. Each step checks its own fields; an API issue
// (`mapping.firstname`) takes the marketer back to the step and field that caused it.

import { api, ApiError, followJob, path } from './api.js';
import { announce, check, clearInvalid, errorBox, field, FieldIssues, fmt, h, IDENTIFIER, issuesOf, markInvalid, showFormError, table } from './dom.js';
import { checkMapping, knownFields, mappingObject, suggestMapping } from './mapping.js';
import { buildSegmentsButton } from './segments.js';

const STEPS = [
  { id: 'source', title: 'Source' },
  { id: 'destination', title: 'Destination' },
  { id: 'object', title: 'Object' },
  { id: 'mode', title: 'Mode' },
  { id: 'mapping', title: 'Field mapping' },
  { id: 'consent', title: 'Consent' },
  { id: 'schedule', title: 'Schedule' },
  { id: 'review', title: 'Preview & enable' },
];

const MODE_HELP = {
  upsert: 'Create new records and update existing ones. People who leave the segment stay in the destination.',
  update: 'Only update records that already exist in the destination; never create.',
  insert: 'Only add new records (each person once); changes are not sent again.',
  mirror: 'Keep the destination equal to the segment: create, update, and delete the records this sync created when people leave.',
  add_remove: 'Add people to a list when they join the segment, remove them when they leave.',
  archive: 'Create and update; archive the record when the person leaves the segment.',
};

/** Which step an API issue path belongs to. */
function stepOf(issuePath) {
  const head = String(issuePath || '').split('.')[0];
  const byField = { source: 'source', name: 'source', destination: 'destination', object: 'object', object_options: 'object', mode: 'mode', key: 'mapping', mapping: 'mapping', purpose: 'consent', schedule: 'schedule' };
  return byField[head];
}

function radioGroup(legend, name, options, value, onChange) {
  return h(
    'fieldset',
    { class: 'choices', 'data-choices': name },
    h('legend', {}, legend),
    options.map((o) => {
      const input = h('input', { type: 'radio', name, value: o.value, checked: o.value === value });
      input.addEventListener('change', () => onChange(o.value));
      return h('div', { class: 'choice' }, check(o.title, input), o.help ? h('p', { class: 'hint' }, o.help) : null);
    }),
  );
}

export function syncWizardPage(params) {
  const state = {
    step: 0,
    reached: 0,
    name: params.name || '',
    sourceKind: params.model ? 'model' : 'segment',
    segment: params.segment || '',
    model: params.model || '',
    columns: [],
    built: true,
    // false: a sql: segment not built yet — the columns are its subject's, its own come with its first build
    exact: true,
    relation: '',
    destination: params.destination || '',
    object: '',
    options: {},
    mode: '',
    key: '',
    rows: [],
    suggested: false,
    purpose: '',
    schedule: { kind: 'manual', every: '15', unit: 'm', cron: '0 6 * * *', after: 'segments' },
    saved: false,
    pendingIssues: null,
  };
  const data = {};
  const stepsNav = h('ol', { class: 'steps', 'aria-label': 'Steps' });
  const panel = h('div', { class: 'step-panel', 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Loading…'));

  const destinationOf = () => data.destinations.find((d) => d.name === state.destination);
  const typeOf = () => {
    const d = destinationOf();
    return d ? data.types.find((t) => t.type === d.type) : undefined;
  };
  const objectOf = () => {
    const t = typeOf();
    return t ? t.objects[state.object] : undefined;
  };
  const sourceLabel = () => (state.sourceKind === 'segment' ? `segment ${state.segment}` : `model ${state.model}`);
  const scheduleValue = () => {
    const s = state.schedule;
    if (s.kind === 'every') return `every ${s.every}${s.unit}`;
    if (s.kind === 'cron') return s.cron.trim();
    if (s.kind === 'after') return { after: [s.after] };
    return 'manual';
  };
  const definition = (enabled) => {
    const spec = {
      source: state.sourceKind === 'segment' ? { segment: state.segment } : { model: state.model },
      destination: state.destination,
      object: state.object,
      mode: state.mode,
      key: state.key,
      mapping: mappingObject(state.rows),
      schedule: scheduleValue(),
      enabled,
    };
    if (state.purpose) spec.purpose = state.purpose;
    const options = Object.fromEntries(Object.entries(state.options).filter(([, v]) => String(v).trim() !== ''));
    if (Object.keys(options).length) spec.object_options = options;
    return spec;
  };

  // ---- steps -------------------------------------------------------------------------------

  const steps = {
    source(issues) {
      const name = h('input', { type: 'text', value: state.name, readonly: state.saved, autocomplete: 'off', spellcheck: 'false' });
      name.addEventListener('input', () => (state.name = name.value.trim()));
      issues.register('name', name);
      const segment = h('select', {}, h('option', { value: '' }, '— choose a segment —'), data.segments.map((s) => h('option', { value: s.name, selected: s.name === state.segment }, `${s.name}${typeof s.materialized_members === 'number' ? ` (${fmt(s.materialized_members)})` : ''}`)));
      segment.addEventListener('change', () => (state.segment = segment.value));
      const model = h('select', {}, h('option', { value: '' }, '— choose a model —'), data.models.map((m) => h('option', { value: m.name, selected: m.name === state.model }, m.name)));
      model.addEventListener('change', () => (state.model = model.value));
      const chooser = h('div', {});
      const showChooser = () => chooser.replaceChildren(state.sourceKind === 'segment' ? field('Segment', segment, { hint: 'the people to send' }) : field('Model', model, { hint: 'a SQL model of the project' }));
      showChooser();
      issues.register('source', chooser);
      return {
        body: [
          field('Sync name', name, { hint: 'letters, digits and _; e.g. vip_to_hubspot' }),
          data.models.length
            ? radioGroup('Send from', 'source-kind', [
                { value: 'segment', title: 'a segment' },
                { value: 'model', title: 'a model (for data engineers)' },
              ], state.sourceKind, (v) => {
                state.sourceKind = v;
                showChooser();
              })
            : null,
          chooser,
        ],
        async validate() {
          const problems = [];
          if (!IDENTIFIER.test(state.name)) problems.push({ el: name, message: 'A name of letters, digits and _, e.g. vip_to_hubspot.' });
          else if (!state.saved && data.syncs.some((s) => s.name === state.name)) problems.push({ el: name, message: `A sync named ${state.name} exists already; choose another name.` });
          const picked = state.sourceKind === 'segment' ? state.segment : state.model;
          if (!picked) problems.push({ el: state.sourceKind === 'segment' ? segment : model, message: `Choose a ${state.sourceKind}.` });
          if (problems.length) return problems;
          const columns = await api('GET', `/sync-sources/columns?${state.sourceKind}=${encodeURIComponent(picked)}`);
          state.columns = columns.columns;
          state.built = columns.built;
          state.exact = columns.exact !== false;
          state.relation = columns.relation;
          return [];
        },
      };
    },

    destination(issues) {
      if (!data.destinations.length) {
        return { body: [h('p', {}, 'There is no destination yet. ', h('a', { href: '#/destinations/new' }, 'Create one'), ', then start this wizard again.')], validate: async () => [{ el: null, message: 'Create a destination first.' }] };
      }
      const group = radioGroup(
        'Send to',
        'destination',
        data.destinations.map((d) => {
          const t = data.types.find((x) => x.type === d.type);
          return { value: d.name, title: `${d.name} — ${t ? t.title : d.type}`, help: d.description || null };
        }),
        state.destination,
        (v) => {
          if (v !== state.destination) {
            state.object = '';
            state.mode = '';
          }
          state.destination = v;
        },
      );
      issues.register('destination', group);
      return {
        body: [group, h('p', { class: 'muted' }, 'Not listed? ', h('a', { href: '#/destinations/new' }, 'Create a destination'), ' (this wizard starts again afterwards).')],
        async validate() {
          return state.destination && destinationOf() ? [] : [{ el: group, message: 'Choose a destination.' }];
        },
      };
    },

    object(issues) {
      const type = typeOf();
      const entries = Object.entries(type.objects);
      if (!state.object && entries.length === 1) state.object = entries[0][0];
      const optionsHolder = h('div', {});
      const showOptions = () => {
        const o = objectOf();
        const inputs = (o ? o.required_options : []).map((opt) => {
          const input = h('input', { type: 'text', value: state.options[opt] || '', autocomplete: 'off', 'data-option': opt });
          input.addEventListener('input', () => (state.options[opt] = input.value.trim()));
          issues.register(`object_options.${opt}`, input);
          return field(`${opt} (required)`, input);
        });
        optionsHolder.replaceChildren(...inputs);
        issues.register('object_options', optionsHolder);
      };
      const group = radioGroup(
        `What to write in ${type.title}`,
        'object',
        entries.map(([name, o]) => ({ value: name, title: `${name} (key: ${o.key})`, help: o.description })),
        state.object,
        (v) => {
          state.object = v;
          state.mode = '';
          showOptions();
        },
      );
      issues.register('object', group);
      showOptions();
      return {
        body: [group, optionsHolder],
        async validate() {
          if (!state.object) return [{ el: group, message: 'Choose what to write.' }];
          return objectOf()
            .required_options.filter((opt) => !String(state.options[opt] || '').trim())
            .map((opt) => ({ el: optionsHolder.querySelector(`[data-option="${opt}"]`), message: `${opt} is required for ${state.object}.` }));
        },
      };
    },

    mode(issues) {
      const modes = objectOf().modes;
      if (!state.mode || !modes.includes(state.mode)) state.mode = modes[0];
      const group = radioGroup('How to sync', 'mode', modes.map((m) => ({ value: m, title: m, help: MODE_HELP[m] })), state.mode, (v) => (state.mode = v));
      issues.register('mode', group);
      return { body: [group], validate: async () => (state.mode ? [] : [{ el: group, message: 'Choose a mode.' }]) };
    },

    mapping(issues) {
      const type = typeOf();
      const object = objectOf();
      const fields = knownFields(type.type, state.object, object.key);
      const columns = state.columns;
      if (!state.key) {
        const byKey = columns.find((c) => c.name === object.key) || columns.find((c) => c.name.includes(object.key));
        state.key = byKey ? byKey.name : '';
      }
      let note = null;
      if (!state.rows.length && !state.suggested) {
        state.rows = suggestMapping(columns, fields, state.key);
        state.suggested = true;
        note = state.rows.length ? `Suggested ${state.rows.length} field(s) from matching names — check them.` : null;
      }
      const listId = `fields-${state.object}`;
      const keySelect = h('select', { 'data-key': '' }, h('option', { value: '' }, '— choose —'), columns.map((c) => h('option', { value: c.name, selected: c.name === state.key }, `${c.name} (${c.kind})`)));
      keySelect.addEventListener('change', () => {
        state.key = keySelect.value;
        recheck();
      });
      issues.register('key', keySelect);
      const rowsHolder = h('div', { class: 'mapping-rows', 'data-mapping': '' });
      issues.register('mapping', rowsHolder);
      const messages = h('div', { 'aria-live': 'polite' });
      const controls = [];

      const renderRows = () => {
        controls.length = 0;
        rowsHolder.replaceChildren(
          h('datalist', { id: listId }, fields.map((f) => h('option', { value: f }))),
          state.rows.length
            ? h(
                'ol',
                { class: 'mapping-list' },
                state.rows.map((row, index) => {
                  const fieldInput = h('input', { type: 'text', value: row.field, list: listId, autocomplete: 'off', spellcheck: 'false', 'data-mapping-field': index });
                  fieldInput.addEventListener('input', () => {
                    row.field = fieldInput.value;
                    recheck();
                  });
                  const kind = h(
                    'select',
                    { 'data-mapping-kind': index },
                    [
                      ['column', 'column'],
                      ['template', 'template'],
                      ['const', 'constant'],
                    ].map(([v, t]) => h('option', { value: v, selected: row.kind === v }, t)),
                  );
                  kind.addEventListener('change', () => {
                    row.kind = kind.value;
                    row.value = '';
                    renderRows();
                    controls[index].kind.focus();
                  });
                  const value =
                    row.kind === 'column'
                      ? h('select', { 'data-mapping-value': index }, h('option', { value: '' }, '— column —'), columns.map((c) => h('option', { value: c.name, selected: c.name === row.value }, `${c.name} (${c.kind})`)), row.value && !columns.some((c) => c.name === row.value) ? h('option', { value: row.value, selected: true }, `${row.value} (not in the source)`) : null)
                      : h('input', { type: 'text', value: row.value, 'data-mapping-value': index, autocomplete: 'off', spellcheck: 'false', placeholder: row.kind === 'template' ? '{{lower tier}}' : 'a fixed value' });
                  value.addEventListener(row.kind === 'column' ? 'change' : 'input', () => {
                    row.value = value.value;
                    recheck();
                  });
                  const remove = h('button', { type: 'button', class: 'secondary small', 'aria-label': `Remove field ${row.field || index + 1}` }, 'Remove');
                  remove.addEventListener('click', () => {
                    state.rows.splice(index, 1);
                    renderRows();
                    (controls[Math.min(index, controls.length - 1)] || { field: add }).field.focus();
                  });
                  controls[index] = { field: fieldInput, kind, value };
                  issues.register(`mapping.${row.field.trim()}`, value);
                  return h('li', { class: 'mapping-row', 'data-mapping-row': index }, field('Destination field', fieldInput), field('From', kind), field(row.kind === 'column' ? 'Source column' : row.kind === 'template' ? 'Template' : 'Value', value), remove);
                }),
              )
            : h('p', { class: 'muted' }, 'No field mapped yet.'),
        );
        recheck();
      };

      const add = h('button', { type: 'button', class: 'secondary' }, 'Add field');
      add.addEventListener('click', () => {
        state.rows.push({ field: '', kind: 'column', value: '' });
        renderRows();
        controls[controls.length - 1].field.focus();
      });
      const suggest = h('button', { type: 'button', class: 'secondary' }, 'Suggest from names');
      suggest.addEventListener('click', () => {
        const mapped = new Set(state.rows.map((r) => r.field.trim()));
        const extra = suggestMapping(columns, fields, state.key).filter((r) => !mapped.has(r.field));
        state.rows.push(...extra);
        renderRows();
        messages.replaceChildren(h('p', { role: 'status' }, extra.length ? `Added ${extra.length} suggested field(s).` : 'No more fields to suggest from the names.'));
      });

      /** Live checks: warnings (types) show as they are typed; errors wait for Continue. */
      function recheck(showErrors = false) {
        clearInvalid(rowsHolder);
        clearInvalid(keySelect.closest('.field') || keySelect);
        const problems = checkMapping(state.rows, columns, state.key, object.key);
        const out = [];
        for (const p of problems) {
          if (p.level !== 'warning' && !showErrors) continue;
          const el = p.part === 'key' ? keySelect : p.part === 'rows' ? rowsHolder : controls[p.index] && controls[p.index][p.part];
          if (el) {
            const n = markInvalid(el, p.message);
            if (p.level === 'warning') {
              n.className = 'field-warning';
              if (el.removeAttribute && el.getAttribute('aria-invalid')) el.removeAttribute('aria-invalid');
            }
          }
          if (p.level === 'error') out.push({ el, message: p.message });
        }
        return out;
      }

      renderRows();
      return {
        body: [
          note ? h('p', { class: 'ok', role: 'status' }, note) : null,
          state.exact ? null : h('p', { class: 'muted', 'data-columns-guess': '' }, `${state.segment} is a SQL segment that has not been built yet: these are the columns of its subject; its own columns are known after its first build.`),
          field('Key column', keySelect, { hint: `identifies each record; ${type.title} ${state.object} match on ${object.key}` }),
          h('h3', {}, 'Fields to send'),
          rowsHolder,
          h('div', { class: 'row' }, add, suggest),
          messages,
        ],
        async validate() {
          const errors = recheck(true);
          return errors.map((e) => ({ ...e, marked: true }));
        },
      };
    },

    consent(issues) {
      const purposes = data.purposes;
      const select = h('select', { 'data-purpose': '' }, h('option', { value: '' }, 'No consent check: everyone in the source may be sent'), purposes.map((p) => h('option', { value: p.name, selected: p.name === state.purpose }, `${p.name}${p.description ? ` — ${p.description}` : ''}`)));
      const details = h('div', { 'aria-live': 'polite' });
      const describe = () => {
        const p = purposes.find((x) => x.name === state.purpose);
        details.replaceChildren(
          p
            ? h('p', { class: 'muted' }, `Sends only people whose ${p.column}${p.model ? ` (in ${p.model}, by ${p.key})` : ''} is ${p.granted.join(' or ')}; others are skipped, and removed where the mode allows.`)
            : h('p', { class: 'muted' }, purposes.length ? 'Choose the purpose this sync serves: people without consent for it are never sent.' : 'The project defines no consent purposes (consent.yml).'),
        );
      };
      select.addEventListener('change', () => {
        state.purpose = select.value;
        describe();
      });
      describe();
      issues.register('purpose', select);
      return {
        body: [field('Consent purpose', select), details],
        async validate() {
          const p = purposes.find((x) => x.name === state.purpose);
          if (p && !p.model && state.columns.length && !state.columns.some((c) => c.name === p.column)) {
            return [{ el: select, message: `Purpose ${p.name} reads the column ${p.column}, which ${sourceLabel()} does not have. Choose another purpose, or none.` }];
          }
          return [];
        },
      };
    },

    schedule(issues) {
      const s = state.schedule;
      const every = h('input', { type: 'number', min: '1', step: '1', value: s.every, 'data-every': '' });
      every.addEventListener('input', () => (s.every = every.value.trim()));
      const unit = h('select', {}, [
        ['m', 'minutes'],
        ['h', 'hours'],
        ['d', 'days'],
      ].map(([v, t]) => h('option', { value: v, selected: s.unit === v }, t)));
      unit.addEventListener('change', () => (s.unit = unit.value));
      const cron = h('input', { type: 'text', value: s.cron, autocomplete: 'off', spellcheck: 'false', 'data-cron': '' });
      cron.addEventListener('input', () => (s.cron = cron.value));
      const after = h('select', {}, [
        ['segments', 'each segments build'],
        ['models', 'each models build'],
      ].map(([v, t]) => h('option', { value: v, selected: s.after === v }, t)));
      after.addEventListener('change', () => (s.after = after.value));
      const extra = h('div', {});
      const showExtra = () =>
        extra.replaceChildren(
          ...(s.kind === 'every' ? [h('div', { class: 'row' }, field('Every', every), field('Unit', unit))] : s.kind === 'cron' ? [field('Cron expression', cron, { hint: 'minute hour day month weekday (UTC), e.g. 0 6 * * * for 06:00 daily; "TZ=Europe/Paris 0 6 * * *" for a time zone' })] : s.kind === 'after' ? [field('Run after', after)] : []),
        );
      const group = radioGroup(
        'When to run',
        'schedule',
        [
          { value: 'manual', title: 'Only when started by hand (Run now)' },
          { value: 'every', title: 'Every few minutes, hours or days' },
          { value: 'cron', title: 'On a cron schedule' },
          { value: 'after', title: 'After the data is rebuilt' },
        ],
        s.kind,
        (v) => {
          s.kind = v;
          showExtra();
        },
      );
      showExtra();
      issues.register('schedule', extra);
      return {
        body: [group, extra],
        async validate() {
          if (s.kind === 'every' && !(Number.isInteger(Number(s.every)) && Number(s.every) >= 1)) return [{ el: every, message: 'A whole number, 1 or more.' }];
          if (s.kind === 'cron' && !/^(TZ=\S+\s+)?(\S+\s+){4,5}\S+$/.test(s.cron.trim()) ) return [{ el: cron, message: 'Five fields (or six with seconds), e.g. 0 6 * * *.' }];
          return [];
        },
      };
    },

    review() {
      const out = h('div', { 'aria-live': 'polite', 'data-plan-out': '' });
      const after = h('div', { 'aria-live': 'polite' });
      const o = objectOf();
      const spec = definition(false);
      const preview = h('button', { type: 'button', 'data-preview': '' }, state.saved ? 'Save and preview the plan again' : 'Save (paused) and preview the plan');
      preview.addEventListener('click', async () => {
        preview.disabled = true;
        after.replaceChildren();
        out.replaceChildren(h('p', { class: 'muted' }, 'Saving the sync paused, then planning (nothing is sent)…'));
        try {
          await api('PUT', path('syncs', state.name), definition(false));
          state.saved = true;
        } catch (error) {
          const found = issuesOf(error);
          if (found.length) {
            const target = STEPS.findIndex((step) => step.id === stepOf(found[0].path));
            if (target >= 0) {
              state.pendingIssues = error;
              go(target);
              return;
            }
          }
          out.replaceChildren(errorBox(error, { message: `The sync could not be saved: ${error.message}` }));
          preview.disabled = false;
          return;
        }
        try {
          const plan = await api('POST', path('syncs', state.name, 'plan'), { samples: 5 });
          out.replaceChildren(planView(plan));
          after.replaceChildren(enableBox());
          announce(`Plan: ${plan.counts.added ?? 0} to add`);
        } catch (error) {
          const mappingLink = h('button', { type: 'button', class: 'secondary' }, 'Back to the field mapping');
          mappingLink.addEventListener('click', () => go(STEPS.findIndex((x) => x.id === 'mapping')));
          out.replaceChildren(errorBox(error, { message: `The sync is saved (paused), but its plan failed: ${error.message}` }), /column|mapping|template/i.test(error.message) ? mappingLink : null);
        } finally {
          preview.disabled = false;
        }
      });
      return {
        body: [
          h(
            'dl',
            { class: 'kv', 'data-summary': '' },
            [
              ['Name', state.name],
              ['Source', `${sourceLabel()}${state.built ? '' : ' — not built yet: its members appear after the next segments build'}`],
              ['Destination', `${state.destination} (${typeOf().title})`],
              ['Object', `${state.object}${Object.keys(spec.object_options || {}).length ? ` ${JSON.stringify(spec.object_options)}` : ''}`],
              ['Mode', `${state.mode} — ${MODE_HELP[state.mode] || ''}`],
              ['Key', `${state.key} → ${o.key}`],
              ['Fields', Object.entries(spec.mapping).map(([f, v]) => `${f} ← ${typeof v === 'string' ? v : JSON.stringify(v)}`).join('; ')],
              ['Consent', state.purpose || 'no check'],
              ['Schedule', typeof spec.schedule === 'string' ? spec.schedule : `after ${spec.schedule.after.join(', ')}`],
            ].flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
          ),
          !state.built && state.sourceKind === 'segment'
            ? h(
                'div',
                { class: 'card', 'data-not-built': '' },
                h('p', {}, `Segment ${state.segment} has not been built yet, so the plan has no members to read. Build it now (every segment is rebuilt), then preview.`),
                buildSegmentsButton(async () => {
                  const columns = await api('GET', `/sync-sources/columns?segment=${encodeURIComponent(state.segment)}`);
                  state.built = columns.built;
                  if (state.built) render();
                }),
              )
            : null,
          h('details', {}, h('summary', {}, 'As a sync file (syncs/*.yml as JSON)'), h('pre', { class: 'code', tabindex: '0' }, h('code', {}, JSON.stringify(spec, null, 2)))),
          h('div', { class: 'row' }, preview),
          out,
          after,
        ],
        validate: async () => [],
        last: true,
      };
    },
  };

  function planView(plan) {
    const kinds = ['added', 'changed', 'removed', 'unchanged', 'skipped_consent', 'skipped_rejected', 'invalid'];
    const rows = kinds.filter((k) => typeof plan.counts[k] === 'number' && (plan.counts[k] > 0 || ['added', 'changed', 'removed'].includes(k))).map((k) => ({ kind: k, count: plan.counts[k] }));
    return h(
      'section',
      { 'data-plan': '' },
      h('h3', {}, 'Plan preview (nothing was sent)'),
      table([{ key: 'kind', title: 'Rows', cell: (r) => r.kind.replace(/_/g, ' ') }, { key: 'count', title: 'Count', num: true, cell: (r) => fmt(r.count) }], rows, { id: 'plan-counts', label: 'Plan counts' }),
      Object.keys(plan.by_op || {}).length ? h('p', { class: 'muted' }, `Requests by operation: ${Object.entries(plan.by_op).map(([op, n]) => `${op} ${fmt(n)}`).join(', ')}`) : null,
      plan.breaker ? h('div', { class: 'error', role: 'alert' }, h('strong', {}, 'The circuit breaker would stop this run: '), plan.breaker.message) : null,
      h('h4', {}, 'Samples'),
      table(
        [
          { key: 'kind', title: 'Kind', cell: (s) => s.kind.replace(/_/g, ' ') },
          { key: 'key', title: 'Key' },
          { key: 'op', title: 'Operation' },
          { key: 'fields', title: 'Fields sent / note', cell: (s) => (s.fields ? Object.entries(s.fields).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' · ') : s.note || '—') },
        ],
        plan.samples,
        { id: 'plan-samples', label: 'Plan samples', empty: 'Nothing to send.' },
      ),
    );
  }

  function enableBox() {
    const out = h('div', { 'aria-live': 'polite' });
    const enable = h('button', { type: 'button', 'data-enable': '' }, 'Enable sync');
    enable.addEventListener('click', async () => {
      enable.disabled = true;
      try {
        await api('PUT', path('syncs', state.name), definition(true));
        announce(`Sync ${state.name} enabled`);
        const run = h('button', { type: 'button', 'data-run': state.name }, 'Run now');
        const note = h('span', { 'aria-live': 'polite', 'data-run-note': state.name });
        run.addEventListener('click', async () => {
          run.disabled = true;
          try {
            const job = await followJob(await api('POST', path('syncs', state.name, 'trigger'), {}), (j) => (note.textContent = j.status === 'running' ? 'Running…' : 'Queued…'));
            note.className = job.status === 'success' ? 'ok' : 'error';
            note.textContent = `Run ${job.status}. `;
            note.append(h('a', { href: `#/syncs/${encodeURIComponent(state.name)}` }, 'See the run'));
          } catch (error) {
            note.replaceChildren(errorBox(error));
          } finally {
            run.disabled = false;
          }
        });
        out.replaceChildren(
          h('p', { class: 'ok', role: 'status', 'data-enabled': state.name }, `✓ ${state.name} is enabled${state.schedule.kind === 'manual' ? ' (runs when started)' : ' and scheduled'}.`),
          h('div', { class: 'row' }, run, note, h('a', { href: `#/syncs/${encodeURIComponent(state.name)}` }, 'Open the sync page')),
        );
        enable.remove();
        run.focus();
      } catch (error) {
        out.replaceChildren(errorBox(error));
        enable.disabled = false;
      }
    });
    return h('div', { class: 'card' }, h('p', {}, 'The plan looks right? Enabling lets the schedule (or Run now) send it.'), h('div', { class: 'row' }, enable), out);
  }

  // ---- frame -------------------------------------------------------------------------------

  function renderNav() {
    stepsNav.replaceChildren(
      ...STEPS.map((step, i) => {
        const label = `${i + 1}. ${step.title}`;
        if (i === state.step) return h('li', { 'aria-current': 'step', class: 'current' }, label);
        if (i <= state.reached) {
          const b = h('button', { type: 'button', class: 'link' }, label);
          b.addEventListener('click', () => go(i));
          return h('li', { class: 'done' }, b);
        }
        return h('li', { class: 'todo' }, label);
      }),
    );
  }

  function go(index) {
    state.step = index;
    state.reached = Math.max(state.reached, index);
    render();
  }

  function render() {
    renderNav();
    const step = STEPS[state.step];
    const issues = new FieldIssues();
    const box = h('div', { 'aria-live': 'polite' });
    let built;
    try {
      built = steps[step.id](issues);
    } catch (error) {
      panel.replaceChildren(errorBox(error));
      return;
    }
    const back = state.step > 0 ? h('button', { type: 'button', class: 'secondary' }, 'Back') : null;
    if (back) back.addEventListener('click', () => go(state.step - 1));
    const next = built.last ? null : h('button', { type: 'submit' }, 'Continue');
    const form = h(
      'form',
      {
        novalidate: true,
        'data-step': step.id,
        onsubmit: async (event) => {
          event.preventDefault();
          if (!next) return;
          clearInvalid(form);
          box.replaceChildren();
          next.disabled = true;
          try {
            const problems = await built.validate();
            if (problems.length) {
              for (const p of problems) if (p.el && !p.marked) markInvalid(p.el, p.message);
              box.replaceChildren(errorBox(new ApiError(-1, problems.length === 1 && !problems[0].el ? problems[0].message : `${problems.length} problem(s) are marked next to their fields.`)));
              const first = problems.find((p) => p.el);
              if (first) (first.el.matches('input, select, textarea, button') ? first.el : first.el.querySelector('input, select, textarea') || first.el).focus();
              return;
            }
            go(state.step + 1);
          } catch (error) {
            showFormError(box, error, issues);
          } finally {
            next.disabled = false;
          }
        },
      },
      h('h2', { id: 'step-title', tabindex: '-1' }, `Step ${state.step + 1} of ${STEPS.length}: ${step.title}`),
      built.body,
      box,
      h('div', { class: 'row nav-buttons' }, back, next),
    );
    panel.replaceChildren(form);
    if (state.pendingIssues) {
      const error = state.pendingIssues;
      state.pendingIssues = null;
      showFormError(box, error, issues);
    } else {
      form.querySelector('#step-title').focus();
    }
  }

  (async () => {
    try {
      const [segments, models, destinations, types, purposes, syncs] = await Promise.all([
        api('GET', '/segments').then((r) => r.segments),
        api('GET', '/models').catch(() => []),
        api('GET', '/destinations'),
        api('GET', '/destination-types'),
        api('GET', '/consent-purposes'),
        api('GET', '/syncs'),
      ]);
      Object.assign(data, { segments, models: Array.isArray(models) ? models : [], destinations, types, purposes, syncs });
      render();
    } catch (error) {
      panel.replaceChildren(errorBox(error));
    } finally {
      panel.removeAttribute('aria-busy');
    }
  })();

  return [h('p', {}, h('a', { href: '#/syncs' }, '← All syncs')), h('h1', {}, 'New sync'), h('nav', { 'aria-label': 'Wizard steps' }, stepsNav), panel];
}
