// A form generated from a JSON Schema object (a destination type's config_schema): one
// labelled control per property — password inputs for writeOnly (secret) fields, selects for
// enums, number inputs, checkboxes, JSON text for objects and arrays. Empty inputs are left
// out of the value, so the schema's defaults apply and a stored secret is kept.

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
    if (secret) {
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
    for (const [name, { control, p, needed }] of controls) {
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
