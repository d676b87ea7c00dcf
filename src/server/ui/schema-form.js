// A form generated from a JSON Schema object (a destination type's config_schema): one
// labelled control per property — password inputs for writeOnly (secret) fields, selects for
// enums, number inputs, checkboxes, JSON text for objects and arrays. A secret record of
// strings (a webhook's `headers`) is a name/value editor whose values are password inputs:
// the names are visible, the secrets are not, and nobody types an invisible JSON object.
// Empty inputs are left out of the value, so the schema's defaults apply and a stored secret
// is kept (a secret record is replaced as a whole when any row is filled).

import { field, h } from './dom.js';

const WORDS = { url: 'URL', id: 'ID', api: 'API', ms: '(ms)', uri: 'URI' };

/** `baseUrl` → `Base URL`, `signing_secret` → `Signing secret`. */
export function humanise(name) {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[\s_]+/)
    .filter(Boolean)
    .map((w) => WORDS[w.toLowerCase()] || w.toLowerCase());
  const text = words.join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const isObjectLike = (p) => p.type === 'object' || p.type === 'array' || (!p.type && !p.enum);
/** `{ [name]: string }`: z.record(z.string(), z.string()) in JSON Schema. */
const isStringRecord = (p) => p.type === 'object' && !p.properties && typeof p.additionalProperties === 'object' && p.additionalProperties !== null && p.additionalProperties.type === 'string';

/**
 * Name/value rows for a secret record: names in text inputs, values in password inputs, one
 * empty row to start, "Add" for more. `pairs()` gives the rows' inputs in order.
 */
function pairsEditor(name, label, needed) {
  const one = label.toLowerCase().replace(/s$/, ''); // headers → header
  const rows = h('div', { class: 'pairs', 'data-pairs': name });
  const add = h('button', { type: 'button', class: 'secondary', 'data-add-pair': name }, `Add ${one}`);
  const addRow = () => {
    const n = rows.children.length + 1;
    const key = h('input', { type: 'text', name: `${name}.name`, autocomplete: 'off', spellcheck: 'false', placeholder: 'name', 'aria-label': `${label} ${n}: name`, 'data-pair-name': '' });
    const value = h('input', { type: 'password', name: `${name}.value`, autocomplete: 'new-password', spellcheck: 'false', placeholder: 'value (hidden)', 'aria-label': `${label} ${n}: value`, 'data-pair-value': '' });
    const remove = h('button', { type: 'button', class: 'secondary', 'aria-label': `Remove ${one} ${n}` }, 'Remove');
    const row = h('div', { class: 'row pair', 'data-pair': '' }, key, value, remove);
    remove.addEventListener('click', () => {
      row.remove();
      (rows.querySelector('input') || add).focus();
    });
    rows.append(row);
    return key;
  };
  add.addEventListener('click', () => addRow().focus());
  addRow();
  const el = h('fieldset', { class: 'pairs-field', 'data-secret-pairs': name }, h('legend', {}, `${label}${needed ? ' (required)' : ''}`), rows, add);
  const pairs = () => [...rows.querySelectorAll('[data-pair]')].map((row) => ({ key: row.querySelector('[data-pair-name]'), value: row.querySelector('[data-pair-value]') }));
  return { el, pairs };
}

/**
 * `schema`: { properties, required }; `values`: current non-secret values; `secrets`:
 * { field: 'set' | 'unset' } of a stored destination. `issues.register('config.x', el)`
 * lets API issues land next to their control.
 */
export function schemaForm(schema, { values = {}, secrets = {}, issues, prefix = 'config' } = {}) {
  const properties = schema && schema.properties ? schema.properties : {};
  const required = new Set((schema && schema.required) || []);
  const controls = new Map();
  const fields = Object.entries(properties).map(([name, p]) => {
    const secret = p.writeOnly === true;
    const hasDefault = p.default !== undefined;
    const stored = secrets[name] === 'set';
    const needed = required.has(name) && !hasDefault && !stored;
    let control;
    const hints = [];
    if (p.description) hints.push(p.description);
    if (secret && isStringRecord(p)) {
      const editor = pairsEditor(name, humanise(name), needed);
      hints.push(stored ? 'Values are stored and never shown; leave every row empty to keep them — rows you fill replace them all.' : 'Values are write-only: stored encrypted, never shown again.');
      const hint = h('p', { class: 'hint' }, hints.join(' · '));
      controls.set(name, { control: editor.el, pairs: editor.pairs, p, needed });
      if (issues) issues.register(`${prefix}.${name}`, editor.el);
      return h('div', { class: 'field wide' }, editor.el, hint);
    } else if (secret && isObjectLike(p)) {
      // Any other secret structure: JSON the user can see while typing; never shown back.
      control = h('textarea', { name, rows: '3', spellcheck: 'false', autocomplete: 'off' });
      hints.push(p.type === 'array' ? 'JSON list' : 'JSON object');
      hints.push(stored ? 'A value is stored; leave empty to keep it. Never shown again.' : 'Write-only: stored encrypted, never shown again.');
    } else if (secret) {
      control = h('input', { type: 'password', name, autocomplete: 'new-password', spellcheck: 'false' });
      hints.push(stored ? 'A value is stored; leave empty to keep it. Never shown again.' : 'Write-only: stored encrypted, never shown again.');
    } else if (Array.isArray(p.enum)) {
      const current = values[name] !== undefined ? String(values[name]) : '';
      control = h(
        'select',
        { name },
        needed ? null : h('option', { value: '' }, hasDefault ? `default (${p.default})` : '— none —'),
        p.enum.map((v) => h('option', { value: String(v), selected: String(v) === current }, String(v))),
      );
    } else if (p.type === 'boolean') {
      control = h('input', { type: 'checkbox', name, checked: values[name] !== undefined ? Boolean(values[name]) : Boolean(p.default) });
    } else if (p.type === 'integer' || p.type === 'number') {
      control = h('input', { type: 'number', name, step: p.type === 'integer' ? '1' : 'any', value: values[name] !== undefined ? String(values[name]) : '', placeholder: hasDefault ? String(p.default) : '' });
    } else if (isObjectLike(p)) {
      control = h('textarea', { name, rows: '3', spellcheck: 'false', placeholder: hasDefault ? JSON.stringify(p.default) : '' }, values[name] !== undefined ? JSON.stringify(values[name], null, 2) : '');
      hints.push(p.type === 'array' ? 'JSON list' : 'JSON object, e.g. {"X-Team": "growth"}');
    } else {
      const type = p.format === 'uri' ? 'url' : 'text';
      control = h('input', { type, name, value: values[name] !== undefined ? String(values[name]) : '', placeholder: hasDefault ? String(p.default) : '', autocomplete: 'off', spellcheck: 'false' });
      if (p.pattern) hints.push(`format: ${p.pattern}`);
    }
    if (hasDefault && !secret && p.type !== 'boolean' && !Array.isArray(p.enum)) hints.push(`default: ${typeof p.default === 'object' ? JSON.stringify(p.default) : p.default}`);
    if (needed) control.setAttribute('aria-required', 'true');
    controls.set(name, { control, p, needed });
    if (issues) issues.register(`${prefix}.${name}`, control);
    const label = `${humanise(name)}${needed ? ' (required)' : ''}`;
    return field(label, control, { hint: hints.join(' · ') || null, class: isObjectLike(p) ? 'wide' : null });
  });

  /** The config to send, and the problems found before sending. */
  function read() {
    const config = {};
    const problems = [];
    for (const [name, { control, pairs, p, needed }] of controls) {
      if (pairs) {
        const filled = pairs().filter(({ key, value }) => key.value.trim() !== '' || value.value !== '');
        if (!filled.length) {
          if (needed) problems.push({ el: pairs()[0]?.key ?? control, message: 'Required.' });
          continue; // blank: a stored value is kept
        }
        const record = {};
        for (const { key, value } of filled) {
          const k = key.value.trim();
          if (k === '') problems.push({ el: key, message: 'A name for this value.' });
          else if (value.value === '') problems.push({ el: value, message: `A value for ${k} (or remove the row).` });
          else if (Object.prototype.hasOwnProperty.call(record, k)) problems.push({ el: key, message: `${k} is given twice.` });
          else record[k] = value.value;
        }
        config[name] = record;
        continue;
      }
      if (p.type === 'boolean') {
        if (control.checked !== Boolean(p.default)) config[name] = control.checked;
        continue;
      }
      const text = control.value.trim();
      if (text === '') {
        if (needed) problems.push({ el: control, message: 'Required.' });
        continue;
      }
      if (p.type === 'integer' || p.type === 'number') {
        const n = Number(text);
        if (Number.isNaN(n) || (p.type === 'integer' && !Number.isInteger(n))) problems.push({ el: control, message: p.type === 'integer' ? 'A whole number.' : 'A number.' });
        else config[name] = n;
      } else if (isObjectLike(p) && !Array.isArray(p.enum)) {
        try {
          config[name] = JSON.parse(text);
        } catch {
          problems.push({ el: control, message: 'Not valid JSON.' });
        }
      } else {
        config[name] = p.writeOnly ? control.value : text;
      }
    }
    return { config, problems };
  }

  return { el: h('div', { class: 'schema-form' }, fields.length ? fields : h('p', { class: 'muted' }, 'This type needs no settings.')), read };
}
