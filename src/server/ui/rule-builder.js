// The rule builder: a segment as AND/OR groups of conditions on traits, events, the
// person's account and other segments — no SQL. The model is a plain tree; the DOM is
// rebuilt from it on structural changes, while typing only re-serialises. Every change
// sizes the draft (debounced POST /segments/size); saving goes through the API, and each
// issue path it answers (`rules.all.1.trait`) is shown next to the control that built it.
// What a condition may name comes from the API's catalog (GET /segments/catalog: traits and
// account traits with their kinds, events sources with the event names seen, other segments,
// the operators of each kind, each events source's property columns) — pickers, not guesses;
// the kind drives the operator list. An event condition's property filters (`where`) and its
// aggregate are rows of the same pickers, over the chosen source's properties.

import { api, ApiError, path } from './api.js';
import { announce, check, clearInvalid, debounce, errorBox, field, FieldIssues, fmt, h, IDENTIFIER, markInvalid, showFormError, slot, table } from './dom.js';

/** Operators in the order the picker lists them (the catalog says which a kind takes). */
const OP_ORDER = ['eq', 'neq', 'within_last', 'not_within_last', 'between_ago', 'gt', 'gte', 'lt', 'lte', 'between', 'in', 'not_in', 'contains', 'starts_with', 'is_null', 'is_not_null'];
const OP_LABELS = {
  eq: 'is',
  neq: 'is not',
  in: 'is one of',
  not_in: 'is none of',
  contains: 'contains',
  starts_with: 'starts with',
  is_null: 'is empty',
  is_not_null: 'is not empty',
  gt: 'is greater than / after',
  gte: 'is at least / on or after',
  lt: 'is less than / before',
  lte: 'is at most / on or before',
  between: 'is between',
  within_last: 'is within the last',
  not_within_last: 'is more than … ago',
  between_ago: 'is between … ago',
};
const UNITS = ['minute', 'hour', 'day', 'week', 'month', 'year'];
const CONDITION_TYPES = [
  { type: 'trait', title: 'Trait' },
  { type: 'event', title: 'Event' },
  { type: 'account_trait', title: 'Account trait' },
  { type: 'in_segment', title: 'In segment' },
  { type: 'json', title: 'Rule as JSON (advanced)' },
];
/** An event condition's aggregate: the function, and the comparisons a number takes. */
const AGG_FNS = [
  { value: 'count', title: 'count of' },
  { value: 'sum', title: 'sum of' },
  { value: 'avg', title: 'average of' },
  { value: 'min', title: 'minimum of' },
  { value: 'max', title: 'maximum of' },
];
const AGG_OPS = [
  { value: 'eq', title: 'is' },
  { value: 'neq', title: 'is not' },
  { value: 'gt', title: 'is greater than' },
  { value: 'gte', title: 'is at least' },
  { value: 'lt', title: 'is less than' },
  { value: 'lte', title: 'is at most' },
  { value: 'between', title: 'is between' },
];
const TIMES = [
  { value: 'at_least', title: 'at least' },
  { value: 'at_most', title: 'at most' },
  { value: 'exactly', title: 'exactly' },
];

/** Which value inputs an operator needs: none, one, a list, a pair, a relative amount (+ unit). */
function shapeOf(op) {
  if (op === 'is_null' || op === 'is_not_null') return 'none';
  if (op === 'between') return 'pair';
  if (op === 'between_ago') return 'relative-pair';
  if (op === 'in' || op === 'not_in') return 'list';
  if (op === 'within_last' || op === 'not_within_last') return 'relative';
  return 'one';
}

/** The catalog's operators for a kind, in the picker's order. */
const orderedOps = (ops) => OP_ORDER.filter((o) => (ops || []).includes(o));

// ---- model ---------------------------------------------------------------------------------

export const newGroup = (op = 'all') => ({ type: 'group', op, negate: false, children: [] });

function newCondition(type) {
  switch (type) {
    case 'trait':
    case 'account_trait':
      return { type, negate: false, name: '', op: 'eq', value: '', value2: '', unit: 'day' };
    case 'event':
      return { type, negate: false, event: '', source: '', times: 'at_least', count: '1', within: '', unit: 'day', where: [], aggregate: null };
    case 'in_segment':
      return { type, negate: false, segment: '' };
    default:
      return { type: 'json', negate: false, text: '{ "trait": "", "op": "eq", "value": "" }' };
  }
}

const valueText = (v) => (v === undefined || v === null ? '' : String(v));
const newFilter = () => ({ property: '', op: 'eq', value: '', value2: '', unit: 'day' });
const keysWithin = (o, keys) => Boolean(o) && typeof o === 'object' && !Array.isArray(o) && Object.keys(o).every((k) => keys.includes(k));

/** A comparison's operator and value(s) as the builder's inputs hold them. */
function comparisonFromRule(rule) {
  const pair = Array.isArray(rule.value) && (rule.op === 'between' || rule.op === 'between_ago');
  return {
    op: rule.op,
    value: pair ? valueText(rule.value[0]) : Array.isArray(rule.value) ? rule.value.join(', ') : valueText(rule.value),
    value2: pair ? valueText(rule.value[1]) : '',
    unit: rule.unit || 'day',
  };
}

/** A rule tree (as the API stores it) → the builder's model; what the builder cannot show stays JSON. */
export function fromRule(rule) {
  if (!rule || typeof rule !== 'object') return newGroup();
  if (Array.isArray(rule.all) || Array.isArray(rule.any)) {
    const op = Array.isArray(rule.all) ? 'all' : 'any';
    return { type: 'group', op, negate: false, children: rule[op].map(fromRule) };
  }
  if ('not' in rule && Object.keys(rule).length === 1) {
    const inner = fromRule(rule.not);
    inner.negate = !inner.negate;
    return inner;
  }
  const kind = 'trait' in rule ? 'trait' : 'account_trait' in rule ? 'account_trait' : null;
  if (kind && keysWithin(rule, [kind, 'op', 'value', 'unit'])) return { type: kind, negate: false, name: rule[kind], ...comparisonFromRule(rule) };
  const filters = rule.where === undefined ? [] : rule.where;
  if (
    'event' in rule &&
    keysWithin(rule, ['event', 'source', 'times', 'within', 'where', 'aggregate']) &&
    Array.isArray(filters) &&
    filters.every((f) => keysWithin(f, ['property', 'op', 'value', 'unit'])) &&
    (rule.aggregate === undefined || keysWithin(rule.aggregate, ['fn', 'property', 'op', 'value']))
  ) {
    const times = rule.times ? Object.keys(rule.times)[0] : 'at_least';
    return {
      type: 'event',
      negate: false,
      event: rule.event,
      source: rule.source || '',
      times,
      count: rule.times ? String(rule.times[times]) : '1',
      within: rule.within ? String(rule.within.last) : '',
      unit: rule.within ? rule.within.unit : 'day',
      where: filters.map((f) => ({ property: f.property, ...comparisonFromRule(f) })),
      aggregate: rule.aggregate ? { fn: rule.aggregate.fn, property: rule.aggregate.property, ...comparisonFromRule(rule.aggregate) } : null,
    };
  }
  if ('in_segment' in rule && Object.keys(rule).length === 1) return { type: 'in_segment', negate: false, segment: rule.in_segment };
  return { type: 'json', negate: false, text: JSON.stringify(rule, null, 2) };
}

/** One typed value from the text the marketer wrote, by the trait's kind when known. */
function typed(text, kind) {
  const t = String(text).trim();
  if (kind === 'number' || (kind === undefined && /^-?\d+(\.\d+)?$/.test(t))) return t !== '' && !Number.isNaN(Number(t)) ? Number(t) : t;
  if (kind === 'boolean') return t === 'true' ? true : t === 'false' ? false : t;
  return t;
}

/**
 * The model → the API's rule tree. `register(path, element)` records which control built
 * each part; `problems` collects what is incomplete (checked here, before any request).
 */
function toRule(node, at, ctx) {
  const wrap = (rule) => (node.negate ? { not: rule } : rule);
  const p = node.negate ? `${at}.not` : at;
  const c = node.controls || {};
  ctx.register(at, node.el);
  if (node.negate) ctx.register(p, node.el);
  if (node.type === 'group') {
    if (!node.children.length) ctx.problem(node.el, 'Add at least one condition to this group, or remove it.');
    return wrap({ [node.op]: node.children.map((child, i) => toRule(child, `${p}.${node.op}.${i}`, ctx)) });
  }
  if (node.type === 'trait' || node.type === 'account_trait') {
    ctx.register(`${p}.${node.type}`, c.name);
    const name = node.name.trim();
    if (!name) ctx.problem(c.name, 'Choose a trait.');
    const kind = (node.type === 'trait' ? ctx.traits : ctx.accountTraits).get(name.toLowerCase());
    return wrap(comparisonInto({ [node.type]: name }, node, kind, c, p, ctx));
  }
  if (node.type === 'event') {
    ctx.register(`${p}.event`, c.event);
    ctx.register(`${p}.source`, c.source);
    ctx.register(`${p}.times`, c.count);
    ctx.register(`${p}.within`, c.within);
    ctx.register(`${p}.within.unit`, c.unit);
    if (!node.event.trim()) ctx.problem(c.event, 'Name the event.');
    const count = Number(node.count);
    if (!Number.isInteger(count) || count < 0) ctx.problem(c.count, 'A whole number of times, 0 or more.');
    const rule = { event: node.event.trim() };
    if (node.source.trim()) rule.source = node.source.trim();
    if (!ctx.events.length) ctx.problem(node.el, 'This project has no events source.');
    const source = ctx.events.find((x) => x.source === rule.source) || ctx.events[0];
    const kinds = new Map(((source && source.properties) || []).map((x) => [x.name, x.kind]));
    ctx.register(`${p}.where`, c.filters);
    const where = node.where.map((f, i) => {
      const at = `${p}.where.${i}`;
      const fc = f.controls || {};
      ctx.register(at, f.el);
      ctx.register(`${at}.property`, fc.property);
      if (!f.property) ctx.problem(fc.property, 'Choose a property.');
      return comparisonInto({ property: f.property }, f, kinds.get(f.property), fc, at, ctx);
    });
    if (where.length) rule.where = where;
    if (!(node.times === 'at_least' && count === 1)) rule.times = { [node.times]: count };
    if (String(node.within).trim() !== '') {
      const last = Number(node.within);
      if (!Number.isInteger(last) || last < 1) ctx.problem(c.within, 'A whole number, 1 or more (or leave empty for any time).');
      rule.within = { last, unit: node.unit };
    }
    if (node.aggregate) rule.aggregate = aggregateRule(node.aggregate, `${p}.aggregate`, c.aggregate, ctx);
    return wrap(rule);
  }
  if (node.type === 'in_segment') {
    ctx.register(`${p}.in_segment`, c.segment);
    if (!node.segment) ctx.problem(c.segment, 'Choose a segment.');
    return wrap({ in_segment: node.segment });
  }
  ctx.register(p, c.text);
  try {
    return wrap(JSON.parse(node.text));
  } catch (error) {
    ctx.problem(c.text, `Not valid JSON: ${error.message}`);
    return wrap({});
  }
}

/**
 * Adds `op`, `value` and `unit` of a comparison of a column of `kind` (a trait, an account
 * trait or an event property) to `rule`; `c` holds the controls, `p` the comparison's path.
 */
function comparisonInto(rule, node, kind, c, p, ctx) {
  ctx.register(`${p}.op`, c.op);
  ctx.register(`${p}.value`, c.value);
  if (c.value2) ctx.register(`${p}.value.1`, c.value2);
  if (c.value) ctx.register(`${p}.value.0`, c.value);
  if (c.unit) ctx.register(`${p}.unit`, c.unit);
  rule.op = node.op;
  const relative = ['within_last', 'not_within_last', 'between_ago'].includes(node.op);
  if (node.op === 'is_null' || node.op === 'is_not_null') return rule;
  if (node.op === 'between' || node.op === 'between_ago') {
    if (node.value.trim() === '' || node.value2.trim() === '') ctx.problem(node.value.trim() === '' ? c.value : c.value2, 'Give both ends of the range.');
    rule.value = [typed(node.value, relative ? 'number' : kind), typed(node.value2, relative ? 'number' : kind)];
  } else if (node.op === 'in' || node.op === 'not_in') {
    const list = node.value.split(',').map((v) => v.trim()).filter(Boolean);
    if (!list.length) ctx.problem(c.value, 'Give one or more values, separated by commas.');
    rule.value = list.map((v) => typed(v, kind));
  } else {
    if (node.value.trim() === '') ctx.problem(c.value, 'Give a value.');
    rule.value = typed(node.value, relative ? 'number' : kind);
  }
  if (relative) rule.unit = node.unit;
  return rule;
}

/** An event condition's aggregate (`{fn, property, op, value}`, numbers only) at path `p`. */
function aggregateRule(a, p, box, ctx) {
  const c = a.controls || {};
  ctx.register(p, box);
  ctx.register(`${p}.fn`, c.fn);
  ctx.register(`${p}.property`, c.property);
  ctx.register(`${p}.op`, c.op);
  ctx.register(`${p}.value`, c.value);
  if (c.value) ctx.register(`${p}.value.0`, c.value);
  if (c.value2) ctx.register(`${p}.value.1`, c.value2);
  if (!a.property) ctx.problem(c.property, a.fn === 'count' ? 'Choose a property (events where it is not empty are counted).' : 'Choose a number property.');
  const number = (text, el) => {
    const n = Number(String(text).trim());
    if (String(text).trim() === '' || !Number.isFinite(n)) ctx.problem(el, 'Give a number.');
    return n;
  };
  const value = a.op === 'between' ? [number(a.value, c.value), number(a.value2, c.value2)] : number(a.value, c.value);
  return { fn: a.fn, property: a.property, op: a.op, value };
}

// ---- view ----------------------------------------------------------------------------------

function select(options, value, attrs = {}) {
  return h(
    'select',
    attrs,
    options.map((o) => {
      const [v, title] = typeof o === 'string' ? [o, o] : [o.value, o.title];
      return h('option', { value: v, selected: v === value }, title);
    }),
  );
}

/**
 * The builder: `onChange` runs after every edit; `names` is what conditions may name —
 * `traits` / `accountTraits` (Map name → kind; accountTraits null without B2B accounts),
 * `events` (sources: `{ source, names, fixed_name }`), `segments`, `operators` (kind → list).
 */
export function ruleBuilder(root, names, onChange) {
  const holder = h('div', { class: 'builder' });
  let focusNext;

  const focusables = () => [...holder.querySelectorAll('input, select, textarea, button')];
  /** Rebuilds the DOM from the model; focus goes to `focusNext`, else stays at the same place in the tab order. */
  const rerender = () => {
    const focusedAt = focusables().indexOf(document.activeElement);
    holder.replaceChildren(renderGroup(root, null, 0));
    if (focusNext && focusNext.el) {
      // A new condition (or a group's first one) is focused at what it asks for, past its NOT box.
      const target = focusNext.el.querySelector('.condition-body input, .condition-body select, .condition-body textarea') || focusNext.el.querySelector('input, select, textarea') || focusNext.el;
      target.focus();
    } else if (focusedAt >= 0) {
      const again = focusables()[focusedAt];
      if (again) again.focus();
    }
    focusNext = undefined;
    onChange();
  };

  const removeButton = (label, onRemove) => h('button', { type: 'button', class: 'secondary small', onclick: onRemove, 'aria-label': label }, 'Remove');

  const negateBox = (node, label) => {
    const box = h('input', { type: 'checkbox', checked: node.negate });
    box.addEventListener('change', () => {
      node.negate = box.checked;
      onChange();
    });
    return check(label, box);
  };

  function renderGroup(group, parent, depth) {
    const opSelect = select(
      [
        { value: 'all', title: 'all of (AND)' },
        { value: 'any', title: 'any of (OR)' },
      ],
      group.op,
      { 'data-group-op': '' },
    );
    opSelect.addEventListener('change', () => {
      group.op = opSelect.value;
      onChange();
    });
    // Only what the project can answer: no event conditions without events sources, no account traits without accounts.
    const offered = CONDITION_TYPES.filter((t) => (t.type !== 'event' || names.events.length) && (t.type !== 'account_trait' || names.accountTraits));
    const kind = select(offered.map((t) => ({ value: t.type, title: t.title })), 'trait');
    const addCondition = h('button', { type: 'button', class: 'secondary' }, 'Add condition');
    addCondition.addEventListener('click', () => {
      const node = newCondition(kind.value);
      group.children.push(node);
      focusNext = node;
      rerender();
    });
    const addGroup = h('button', { type: 'button', class: 'secondary' }, 'Add group');
    addGroup.addEventListener('click', () => {
      const node = newGroup(group.op === 'all' ? 'any' : 'all');
      node.children.push(newCondition('trait'));
      group.children.push(node);
      focusNext = node;
      rerender();
    });
    const legendText = depth === 0 ? 'Members match' : 'Group: members match';
    const el = h(
      'fieldset',
      { class: `group depth-${Math.min(depth, 3)}`, 'data-group': depth },
      h('legend', {}, legendText),
      h('div', { class: 'row' }, field('Match', opSelect, { class: 'compact' }), depth > 0 ? negateBox(group, 'Exclude people matching this group (NOT)') : null, parent ? removeButton('Remove this group', () => remove(parent, group)) : null),
      group.children.length ? h('ol', { class: 'conditions' }, group.children.map((child) => h('li', {}, child.type === 'group' ? renderGroup(child, group, depth + 1) : renderCondition(child, group)))) : h('p', { class: 'muted' }, 'No conditions yet.'),
      h('div', { class: 'row add' }, field('New condition', kind, { class: 'compact' }), addCondition, addGroup),
    );
    group.el = el;
    group.controls = { op: opSelect };
    return el;
  }

  function remove(parent, node) {
    parent.children.splice(parent.children.indexOf(node), 1);
    focusNext = parent;
    rerender();
  }

  const bind = (node, key, control, event = 'input') => {
    control.addEventListener(event, () => {
      node[key] = control.type === 'checkbox' ? control.checked : control.value;
      onChange();
    });
    return control;
  };

  /**
   * The operator and value inputs of a comparison of a column of `kind` (a trait or an event
   * property), into `c`; the kind gives the operators, the operator the value inputs.
   */
  function comparisonParts(node, kind, c) {
    const ops = kind ? orderedOps(names.operators[kind]) : OP_ORDER;
    if (!ops.includes(node.op)) node.op = ops[0];
    c.op = select(ops.map((o) => ({ value: o, title: OP_LABELS[o] || o })), node.op, { 'data-part': 'op' });
    // An operator can need other value inputs: rebuild then (after the focus has moved on).
    c.op.addEventListener('change', () => {
      const before = shapeOf(node.op);
      node.op = c.op.value;
      onChange();
      if (shapeOf(node.op) !== before) setTimeout(rerender);
    });
    const parts = [field('Operator', c.op)];
    const relative = ['within_last', 'not_within_last', 'between_ago'].includes(node.op);
    const inputType = relative || kind === 'number' ? 'number' : 'text';
    if (node.op === 'between' || node.op === 'between_ago') {
      c.value = bind(node, 'value', h('input', { type: inputType, value: node.value, 'data-part': 'value' }));
      c.value2 = bind(node, 'value2', h('input', { type: inputType, value: node.value2, 'data-part': 'value2' }));
      parts.push(field(relative ? 'From (units ago)' : 'From', c.value), field(relative ? 'To (units ago)' : 'To', c.value2));
    } else if (kind === 'boolean' && (node.op === 'eq' || node.op === 'neq')) {
      c.value = bind(node, 'value', select([{ value: '', title: '— choose —' }, 'true', 'false'], node.value, { 'data-part': 'value' }), 'change');
      parts.push(field('Value', c.value));
    } else if (node.op !== 'is_null' && node.op !== 'is_not_null') {
      c.value = bind(node, 'value', h('input', { type: node.op === 'in' || node.op === 'not_in' ? 'text' : inputType, value: node.value, 'data-part': 'value' }));
      parts.push(field(node.op === 'in' || node.op === 'not_in' ? 'Values (comma-separated)' : relative ? 'How many' : 'Value', c.value, { hint: kind === 'time' && !relative ? 'a date, e.g. 2026-01-31' : null }));
    }
    if (relative) {
      c.unit = bind(node, 'unit', select(UNITS, node.unit, { 'data-part': 'unit' }), 'change');
      parts.push(field('Unit', c.unit));
    }
    return parts;
  }

  /** Property options of an events source (what a saved rule names beyond them stays listed, for the API's error). */
  const propertyOptions = (properties, current, missing) => [
    { value: '', title: '— choose —' },
    ...properties.map((x) => ({ value: x.name, title: `${x.name} (${x.kind})` })),
    ...(current && !properties.some((x) => x.name === current) ? [{ value: current, title: `${current} (${missing})` }] : []),
  ];

  /** An event condition's property filters (`where`): rows of property → operator → value, added and removed. */
  function propertyFilters(node, source, c) {
    const properties = source.properties || [];
    const kinds = new Map(properties.map((x) => [x.name, x.kind]));
    const rows = node.where.map((f, i) => {
      const fc = {};
      const kind = kinds.get(f.property);
      fc.property = bind(f, 'property', select(propertyOptions(properties, f.property, 'not in the catalog'), f.property, { 'data-part': 'property' }), 'change');
      fc.property.addEventListener('change', () => {
        if (kinds.get(f.property) !== kind) setTimeout(rerender);
      });
      const row = h(
        'li',
        { class: 'filter-row', 'data-filter': i },
        field('Property', fc.property, { hint: kind || null }),
        comparisonParts(f, kind, fc),
        removeButton(`Remove property filter ${i + 1}`, () => {
          node.where.splice(i, 1);
          focusNext = { get el() { return node.controls.addFilter; } }; // the rebuilt button
          rerender();
        }),
      );
      f.el = row;
      f.controls = fc;
      return row;
    });
    c.addFilter = h('button', { type: 'button', class: 'secondary small', 'data-add-filter': '' }, 'Add property filter');
    c.addFilter.addEventListener('click', () => {
      const filter = newFilter();
      node.where.push(filter);
      focusNext = filter;
      rerender();
    });
    c.filters = h(
      'fieldset',
      { class: 'event-part', 'data-filters': '' },
      h('legend', {}, 'Only events where'),
      rows.length ? h('ol', { class: 'filters' }, rows) : null,
      properties.length ? c.addFilter : h('p', { class: 'hint' }, 'This events source has no property columns.'),
    );
    return c.filters;
  }

  /** An event condition's optional aggregate: fn, property (numbers only, except for count), comparison, number(s). */
  function aggregateControls(node, source, c) {
    const properties = source.properties || [];
    const a = node.aggregate;
    const ac = {};
    ac.fn = select([{ value: '', title: '— none —' }, ...AGG_FNS], a ? a.fn : '', { 'data-part': 'aggregate-fn' });
    ac.fn.addEventListener('change', () => {
      const fn = ac.fn.value;
      if (!fn) node.aggregate = null;
      else if (!node.aggregate) node.aggregate = { fn, property: '', op: 'gte', value: '', value2: '' };
      else node.aggregate.fn = fn;
      // sum/avg/min/max take a number property; one of another kind is cleared, not kept to fail.
      if (fn && fn !== 'count' && !properties.some((x) => x.name === node.aggregate.property && x.kind === 'number')) node.aggregate.property = '';
      // Other functions take other properties (and none shows no inputs): rebuild.
      setTimeout(rerender);
    });
    const parts = [field('Aggregate', ac.fn, { hint: 'over the matching events' })];
    if (a) {
      const allowed = a.fn === 'count' ? properties : properties.filter((x) => x.kind === 'number');
      ac.property = bind(a, 'property', select(propertyOptions(allowed, a.property, a.fn === 'count' ? 'not in the catalog' : 'not a number property'), a.property, { 'data-part': 'aggregate-property' }), 'change');
      ac.op = select(AGG_OPS, a.op, { 'data-part': 'aggregate-op' });
      ac.op.addEventListener('change', () => {
        const pair = a.op === 'between';
        a.op = ac.op.value;
        onChange();
        if ((a.op === 'between') !== pair) setTimeout(rerender);
      });
      ac.value = bind(a, 'value', h('input', { type: 'number', step: 'any', value: a.value, 'data-part': 'aggregate-value' }));
      parts.push(field(a.fn === 'count' ? 'Of property' : 'Of number property', ac.property), field('Comparison', ac.op), field(a.op === 'between' ? 'From' : 'Value', ac.value));
      if (a.op === 'between') {
        ac.value2 = bind(a, 'value2', h('input', { type: 'number', step: 'any', value: a.value2, 'data-part': 'aggregate-value2' }));
        parts.push(field('To', ac.value2));
      }
      a.controls = ac;
    }
    c.aggregate = h('fieldset', { class: 'event-part', 'data-aggregate': '' }, h('legend', {}, 'Aggregate (optional)'), h('div', { class: 'event-part-body' }, parts));
    return c.aggregate;
  }

  function renderCondition(node, parent) {
    const c = {};
    const parts = [];
    const title = CONDITION_TYPES.find((t) => t.type === node.type).title;
    if (node.type === 'trait' || node.type === 'account_trait') {
      const catalog = (node.type === 'trait' ? names.traits : names.accountTraits) || new Map();
      const current = node.name.trim().toLowerCase();
      const options = [
        { value: '', title: '— choose —' },
        ...[...catalog].map(([name, k]) => ({ value: name, title: `${name} (${k})` })),
        // A saved rule can name what the catalog no longer has: shown, so the API's error has a place.
        ...(current && !catalog.has(current) ? [{ value: node.name, title: `${node.name} (not in the catalog)` }] : []),
      ];
      c.name = bind(node, 'name', select(options, catalog.has(current) ? current : node.name, { 'data-part': 'name' }), 'change');
      const kind = catalog.get(current);
      // A trait of another kind offers other operators: rebuild then (after the focus has moved on, so Tab keeps its place).
      c.name.addEventListener('change', () => {
        if (catalog.get(node.name.trim().toLowerCase()) !== kind) setTimeout(rerender);
      });
      parts.push(field(node.type === 'trait' ? 'Trait' : 'Account trait', c.name, { hint: kind ? `${kind}` : null }), ...comparisonParts(node, kind, c));
    } else if (node.type === 'event') {
      const sources = names.events;
      if (!sources.length) {
        parts.push(h('p', { class: 'hint', 'data-no-events': '' }, 'This project has no events source: declare events: in segments.yml to use event conditions.'));
      } else {
        // No source written means the first one (as in segments/*.yml).
        const chosen = sources.find((x) => x.source === node.source) || sources[0];
        c.source = bind(node, 'source', select(sources.map((x) => x.source), chosen.source, { 'data-part': 'source' }), 'change');
        c.source.addEventListener('change', () => setTimeout(rerender)); // another source has other events
        if (chosen.fixed_name) {
          node.event = chosen.fixed_name;
          c.event = h('input', { type: 'text', value: chosen.fixed_name, readonly: true, 'data-part': 'event' });
        } else if (Array.isArray(chosen.names)) {
          const options = [{ value: '', title: '— choose —' }, ...chosen.names.map((n) => ({ value: n, title: n })), ...(node.event && !chosen.names.includes(node.event) ? [{ value: node.event, title: `${node.event} (never seen)` }] : [])];
          c.event = bind(node, 'event', select(options, node.event, { 'data-part': 'event' }), 'change');
        } else {
          // Too many names to list: typed, and checked by the API.
          c.event = bind(node, 'event', h('input', { type: 'text', value: node.event, autocomplete: 'off', spellcheck: 'false', 'data-part': 'event' }));
        }
        c.times = bind(node, 'times', select(TIMES, node.times, { 'data-part': 'times' }), 'change');
        c.count = bind(node, 'count', h('input', { type: 'number', min: '0', step: '1', value: node.count, 'data-part': 'count' }));
        c.within = bind(node, 'within', h('input', { type: 'number', min: '1', step: '1', value: node.within, 'data-part': 'within' }));
        c.unit = bind(node, 'unit', select(UNITS, node.unit, { 'data-part': 'unit' }), 'change');
        parts.push(
          field('Events source', c.source, { hint: chosen.fixed_name ? `every row is ${chosen.fixed_name}` : null }),
          field('Event', c.event),
          field('Happened', c.times),
          field('Times', c.count),
          field('Within the last', c.within, { hint: 'empty: any time' }),
          field('Unit', c.unit),
          propertyFilters(node, chosen, c),
          aggregateControls(node, chosen, c),
        );
      }
    } else if (node.type === 'in_segment') {
      const options = [{ value: '', title: '— choose —' }, ...names.segments.map((name) => ({ value: name, title: name }))];
      c.segment = bind(node, 'segment', select(options, node.segment, { 'data-part': 'segment' }), 'change');
      parts.push(field('Segment', c.segment));
    } else {
      c.text = bind(node, 'text', h('textarea', { rows: '4', spellcheck: 'false', 'data-part': 'json' }, node.text));
      parts.push(field('Rule (JSON, as in segments/*.yml)', c.text, { class: 'wide' }));
    }
    const el = h(
      'div',
      { class: 'condition', 'data-condition': node.type },
      h('div', { class: 'condition-head' }, h('strong', {}, title), negateBox(node, 'NOT'), removeButton(`Remove this ${title.toLowerCase()} condition`, () => remove(parent, node))),
      h('div', { class: 'condition-body' }, parts),
    );
    node.el = el;
    node.controls = c;
    return el;
  }

  rerender();
  return { el: holder, rerender };
}

// ---- page ----------------------------------------------------------------------------------

/** What rules over `over` may name (GET /segments/catalog), in the builder's shape. */
async function catalogOf(over) {
  const catalog = await api('GET', `/segments/catalog?over=${encodeURIComponent(over)}`);
  const kinds = (columns) => new Map(columns.map((c) => [c.name, c.kind]));
  return {
    traits: kinds(catalog.traits),
    accountTraits: catalog.account_traits ? kinds(catalog.account_traits) : null,
    events: catalog.events,
    segments: catalog.segments,
    operators: catalog.operators,
  };
}

/** New segment (`#/segments/new`) or edit an API segment (`#/segments/NAME/edit`). */
export function segmentEditorPage({ name }) {
  const editing = Boolean(name);
  const container = slot(async () => {
    let definition = { over: 'profiles', rules: { all: [] } };
    if (editing) {
      const view = await api('GET', path('segments', name));
      if (view.origin !== 'api') throw new ApiError(-1, `${name} is defined by ${view.file || 'a file'}; edit the file instead.`);
      definition = view.definition || definition;
    }
    return editor(definition);
  });

  async function editor(definition) {
    const issues = new FieldIssues();
    const box = h('div', { 'aria-live': 'polite' });
    const sizeBox = h('div', { class: 'live-size', 'aria-live': 'polite', 'data-live-size': '' }, h('p', { class: 'muted' }, 'Add a condition to see how many people match.'));
    const nameInput = h('input', { type: 'text', name: 'name', value: editing ? name : '', required: true, autocomplete: 'off', spellcheck: 'false', readonly: editing });
    const description = h('input', { type: 'text', name: 'description', value: definition.description || '', autocomplete: 'off' });
    const over = select(
      [
        { value: 'profiles', title: 'people (profiles)' },
        { value: 'accounts', title: 'companies (accounts)' },
      ],
      definition.over || 'profiles',
    );
    const names = await catalogOf(definition.over || 'profiles');
    names.segments = names.segments.filter((s) => s !== name);
    const root = fromRule(definition.rules);
    const model = root.type === 'group' && !root.negate ? root : { ...newGroup('all'), children: [root] };
    let seq = 0;
    let lastGood;

    /** The definition as the API takes it, with issues registered; undefined while incomplete. */
    const serialise = (mark) => {
      issues.reset();
      issues.register('name', nameInput);
      issues.register('description', description);
      issues.register('over', over);
      const problems = [];
      const ctx = {
        traits: names.traits,
        accountTraits: names.accountTraits || new Map(),
        events: names.events,
        register: (p, el) => el && issues.register(p, el),
        problem: (el, message) => problems.push({ el, message }),
      };
      const rules = toRule(model, 'rules', ctx);
      if (!model.children.length) problems.length = 0;
      if (mark) for (const problem of problems) if (problem.el) markInvalid(problem.el, problem.message);
      const spec = { over: over.value, rules };
      if (description.value.trim()) spec.description = description.value.trim();
      return { spec, complete: problems.length === 0 && model.children.length > 0, problems };
    };

    const resize = debounce(async () => {
      const { spec, complete, problems } = serialise(false);
      const mine = ++seq;
      try {
        if (!model.children.length) {
          sizeBox.replaceChildren(h('p', { class: 'muted' }, 'Add a condition to see how many people match.'));
          return;
        }
        if (!complete) {
          sizeBox.replaceChildren(h('p', { class: 'muted', 'data-incomplete': problems.length }, `Complete ${problems.length} part(s) of the conditions to see the size.`));
          clearInvalid(builder.el);
          // Empty inputs are not errors while the marketer is still typing; wrong ones are.
          for (const problem of problems) if (problem.el && problem.el.value) markInvalid(problem.el, problem.message);
          return;
        }
        const size = await api('POST', '/segments/size', spec);
        if (mine !== seq) return;
        lastGood = size;
        clearInvalid(builder.el);
        const max = Math.max(1, ...size.steps.map((step) => step.count));
        sizeBox.replaceChildren(
          h('p', { class: 'size-now' }, 'Live size: ', h('strong', { 'data-size': size.size }, fmt(size.size)), size.size === 1 ? ' member' : ' members'),
          table(
            [
              { key: 'label', title: 'After condition group' },
              { key: 'count', title: 'Count', num: true, cell: (step) => fmt(step.count) },
              { key: 'share', title: 'Share', num: true, cell: (step) => `${Math.round((step.count / max) * 100)}%` },
            ],
            size.steps,
            { id: 'draft-steps', label: 'Size after each condition group' },
          ),
        );
        announce(`Live size ${size.size}`);
      } catch (error) {
        if (mine !== seq) return;
        clearInvalid(builder.el);
        const fieldIssues = error instanceof ApiError ? error.issues : [];
        // While the marketer types, focus stays where it is: the marks only point.
        const unmatched = fieldIssues.length ? issues.show(fieldIssues, { focus: false }) : [];
        sizeBox.replaceChildren(errorBox(error, fieldIssues.length ? { message: lastGood ? `The size cannot be computed: ${fieldIssues.length - unmatched.length} problem(s) marked next to their fields.` : 'Fix the marked conditions to see the size.', issues: unmatched } : {}));
      } finally {
        if (mine === seq) sizeBox.removeAttribute('aria-busy');
      }
    }, 350);

    const onChange = () => {
      sizeBox.setAttribute('aria-busy', 'true');
      resize();
    };
    const builder = ruleBuilder(model, names, onChange);
    for (const control of [description, over]) control.addEventListener('input', onChange);
    over.addEventListener('change', async () => {
      try {
        Object.assign(names, await catalogOf(over.value));
        names.segments = names.segments.filter((s) => s !== name);
        box.replaceChildren();
      } catch (error) {
        box.replaceChildren(errorBox(error)); // the API still checks every name
      }
      builder.rerender();
    });

    const saveButton = h('button', { type: 'submit' }, editing ? 'Save changes' : 'Save segment');
    const form = h(
      'form',
      {
        novalidate: true,
        'data-form': 'segment',
        onsubmit: async (event) => {
          event.preventDefault();
          clearInvalid(form);
          box.replaceChildren();
          const { spec, problems } = serialise(true);
          const local = [...problems];
          if (!editing && !IDENTIFIER.test(nameInput.value.trim())) {
            const message = 'A name of letters, digits and _ (not starting with a digit), e.g. vip_customers.';
            markInvalid(nameInput, message);
            local.unshift({ el: nameInput, message });
          }
          if (!model.children.length) {
            markInvalid(model.el, 'Add at least one condition.');
            local.push({ el: model.el, message: 'Add at least one condition.' });
          }
          if (local.length) {
            box.replaceChildren(errorBox(new ApiError(-1, `${local.length} problem(s) are marked next to their fields.`)));
            const first = local[0].el;
            (first.matches('input, select, textarea') ? first : first.querySelector('input, select, textarea') || first).focus();
            return;
          }
          saveButton.disabled = true;
          try {
            const target = nameInput.value.trim();
            if (editing) await api('PUT', path('segments', target), spec);
            else await api('POST', '/segments', { name: target, ...spec });
            announce(`Segment ${target} saved`);
            location.hash = `#/segments/${encodeURIComponent(target)}`;
          } catch (error) {
            if (error instanceof ApiError && error.status === 409) {
              markInvalid(nameInput, error.message);
              nameInput.focus();
              box.replaceChildren(errorBox(error));
            } else {
              showFormError(box, error, issues);
            }
          } finally {
            saveButton.disabled = false;
          }
        },
      },
      h('div', { class: 'row align-top' }, field('Segment name', nameInput, { hint: editing ? 'names cannot change' : 'letters, digits and _; e.g. vip_customers' }), field('Description', description, { class: 'grow' }), field('Members are', over)),
      h('h2', {}, 'Conditions'),
      builder.el,
      h('h2', {}, 'Size'),
      sizeBox,
      box,
      h('div', { class: 'row' }, saveButton, h('a', { href: editing ? `#/segments/${encodeURIComponent(name)}` : '#/segments' }, 'Cancel')),
    );
    return [form];
  }

  return [h('p', {}, h('a', { href: '#/segments' }, '← All segments')), h('h1', {}, editing ? `Edit ${name}` : 'New segment'), container];
}
