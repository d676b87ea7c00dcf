// DOM helpers shared by every screen: element builder (strings are always text, never
// HTML), labelled form fields, inline field errors keyed by API issue paths, the error box,
// async slots that fill themselves or show their own error, and tables.

import { ApiError } from './api.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

function build(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.setAttribute('class', value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Builds an HTML element; strings become text nodes. */
export const h = (tag, attrs, ...children) => build(document.createElement(tag), attrs, children);
/** Builds an SVG element (charts are inline SVG: no library, nothing the CSP must allow). */
export const s = (tag, attrs, ...children) => build(document.createElementNS(SVG_NS, tag), attrs, children);

let nextId = 0;
export const uid = (prefix = 'f') => `${prefix}-${++nextId}`;

export const fmt = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : n === null || n === undefined ? '—' : String(n));
export const show = (value) => (value === null || value === undefined ? '—' : typeof value === 'object' ? JSON.stringify(value) : String(value));
export const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');

const statusLine = () => document.getElementById('status');
export function announce(text) {
  const el = statusLine();
  if (el) el.textContent = text;
}

/** A labelled control with an optional hint; inline errors attach to it (see markInvalid). */
export function field(label, control, options = {}) {
  if (!control.id) control.id = uid('in');
  const hint = options.hint ? h('p', { class: 'hint', id: `${control.id}-hint` }, options.hint) : null;
  if (hint) control.setAttribute('aria-describedby', hint.id);
  return h('div', { class: `field${options.class ? ` ${options.class}` : ''}` }, h('label', { for: control.id }, label), control, hint);
}

/** A checkbox or radio with its label after it. */
export function check(label, control) {
  if (!control.id) control.id = uid('ck');
  return h('label', { class: 'check', for: control.id }, control, label);
}

const isControl = (el) => el instanceof HTMLInputElement || el instanceof HTMLSelectElement || el instanceof HTMLTextAreaElement;

/** Shows `message` next to `el` (a control, or a container such as a rule row). */
export function markInvalid(el, message) {
  const host = el.closest('.field') || el;
  const note = h('p', { class: 'field-error', id: uid('err'), 'data-field-error': '' }, message);
  if (isControl(el)) {
    el.setAttribute('aria-invalid', 'true');
    const described = (el.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
    el.setAttribute('aria-describedby', [...described, note.id].join(' '));
  } else {
    el.classList.add('invalid');
  }
  if (host === el && isControl(el)) el.after(note);
  else host.append(note);
  return note;
}

export function clearInvalid(root) {
  for (const note of root.querySelectorAll('[data-field-error]')) note.remove();
  for (const el of root.querySelectorAll('[aria-invalid]')) {
    el.removeAttribute('aria-invalid');
    const described = (el.getAttribute('aria-describedby') || '').split(' ').filter((id) => id && !id.startsWith('err-'));
    if (described.length) el.setAttribute('aria-describedby', described.join(' '));
    else el.removeAttribute('aria-describedby');
  }
  for (const el of root.querySelectorAll('.invalid')) el.classList.remove('invalid');
}

/**
 * Maps API issue paths (`rules.all.1.trait`, `config.accessToken`) to the elements that
 * caused them. An issue goes to the element of the longest registered prefix of its path;
 * issues no element claims are returned, for the form's own error box.
 */
export class FieldIssues {
  constructor() {
    this.fields = new Map();
  }
  register(path, el) {
    this.fields.set(path, el);
    return el;
  }
  reset() {
    this.fields.clear();
  }
  show(issues, options = {}) {
    const unmatched = [];
    let first;
    for (const issue of issues) {
      const parts = String(issue.path || '').split('.').filter(Boolean);
      let el;
      for (let n = parts.length; n > 0 && !el; n--) el = this.fields.get(parts.slice(0, n).join('.'));
      if (!el) {
        unmatched.push(issue);
        continue;
      }
      // The API repeats the path at the start of the message (`rules.all.0.op: …`); next to the field it is noise.
      const prefix = `${issue.path}: `;
      markInvalid(el, String(issue.message).startsWith(prefix) ? issue.message.slice(prefix.length) : issue.message);
      first ??= el;
    }
    if (first && options.focus !== false) (isControl(first) ? first : first.querySelector('input, select, textarea, button') || first).focus();
    return unmatched;
  }
}

export function errorBox(error, options = {}) {
  const e = error instanceof ApiError ? error : new ApiError(-1, (error && error.message) || String(error));
  const title = e.status === 401 ? 'Not signed in, or the token is not valid: ' : e.status === 403 ? 'This token may not do that: ' : e.status === 0 ? '' : e.status > 0 ? `Error ${e.status}: ` : 'Error: ';
  const issues = options.issues ?? e.issues;
  return h(
    'div',
    { class: 'error', role: 'alert', 'data-status': e.status },
    h('strong', {}, title),
    options.message ?? e.message,
    e.hint ? h('div', {}, `Hint: ${e.hint}`) : null,
    issues.length ? h('ul', {}, issues.map((i) => h('li', {}, i.path ? [h('code', {}, i.path), ': '] : null, i.message))) : null,
    e.status === 401 && !location.hash.startsWith('#/signin') ? h('div', {}, h('a', { href: '#/signin' }, 'Sign in again')) : null,
  );
}

/**
 * A config error without issues still names its field in its one line
 * (`api:syncs/x:3: mapping.a: template syntax error … — fix`): recover it as an issue.
 */
export function issuesOf(error) {
  if (!(error instanceof ApiError)) return [];
  if (error.issues.length) return error.issues;
  const match = /^(?:api:[\w/.-]+|sync \w+|[\w/.-]+\.ya?ml)(?::\d+)?: ([a-z_]+(?:\.[\w-]+)*): (.+)$/s.exec(error.message);
  return match ? [{ path: match[1], message: match[2] }] : [];
}

/**
 * Shows an API error on a form: field issues next to their fields, the rest (and a one-line
 * summary) in `box`.
 */
export function showFormError(box, error, issues) {
  const found = issuesOf(error);
  if (found.length && issues) {
    const unmatched = issues.show(found);
    const placed = found.length - unmatched.length;
    const message = placed ? `${placed} problem(s) are marked next to their fields.` : error.message;
    box.replaceChildren(errorBox(error, { message, issues: unmatched }));
  } else {
    box.replaceChildren(errorBox(error));
  }
}

/** Runs an async filler into a placeholder; its error replaces the placeholder inline. */
export function slot(fill, loading = 'Loading…') {
  const holder = h('div', { class: 'slot', 'aria-busy': 'true' }, h('p', { class: 'muted' }, loading));
  Promise.resolve()
    .then(fill)
    .then((content) => holder.replaceChildren(...[content].flat().filter(Boolean)))
    .catch((error) => holder.replaceChildren(errorBox(error)))
    .finally(() => holder.removeAttribute('aria-busy'));
  return holder;
}

export function table(columns, rows, options = {}) {
  if (!rows.length) return h('p', { class: 'muted', 'data-empty': options.id }, options.empty || 'Nothing here yet.');
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

/** A bar as wide as the share (CSSOM style: allowed by the page's CSP, unlike style attributes). */
export function bar(share) {
  const el = h('span', { class: 'bar' });
  el.style.width = `${Math.round(Math.max(0, Math.min(1, share)) * 100)}%`;
  return h('span', { class: 'track', 'aria-hidden': 'true' }, el);
}

/** A button that disables itself while its async action runs; the action's error goes to `box`. */
export function actionButton(label, action, attrs = {}) {
  const button = h('button', { type: 'button', ...attrs }, label);
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await action(button);
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

/** Calls `fn` once input has been quiet for `ms`. */
export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
