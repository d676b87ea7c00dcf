/**
 * Walks a raw (unvalidated) rule tree node by node: recognises each node by its key,
 * validates its shape with the node's own schema, then checks it against the catalog —
 * the trait or event exists, the operator fits the column's kind, the value fits the
 * operator, a relative window has a unit. Every problem is reported at the rule's path
 * (`['rules', 'all', 1, 'op']`), so the file loader can name the line.
 *
 * Also collects the segments a tree refers to (with the reference's path) for cycle checks.
 */
import type { z } from 'zod';
import type { Catalog, ValueKind } from './catalog';
import { relativeDateOps, ruleKindOf, ruleKinds, shallowRuleSchemas, type Comparison, type Operator, type PropertyFilter } from './rule-schema';

export type Path = (string | number)[];

export interface RuleIssue {
  path: Path;
  message: string;
  /** zod's own issue when the shape was wrong (keeps its code for the standard wording). */
  zodIssue?: z.core.$ZodIssue;
}

export interface SegmentReference {
  segment: string;
  path: Path;
}

export type Subject = 'profiles' | 'accounts';

/** The operators a trait (or property) of each kind takes — the rule builder offers these. */
export const operatorsByKind: Record<ValueKind, readonly Operator[]> = {
  string: ['eq', 'neq', 'in', 'not_in', 'contains', 'starts_with', 'is_null', 'is_not_null'],
  number: ['eq', 'neq', 'in', 'not_in', 'gt', 'gte', 'lt', 'lte', 'between', 'is_null', 'is_not_null'],
  time: ['gt', 'gte', 'lt', 'lte', 'between', 'within_last', 'not_within_last', 'between_ago', 'is_null', 'is_not_null'],
  boolean: ['eq', 'neq', 'is_null', 'is_not_null'],
};

export function checkRuleTree(raw: unknown, subject: Subject, catalog: Catalog, basePath: Path): { issues: RuleIssue[]; references: SegmentReference[] } {
  const issues: RuleIssue[] = [];
  const references: SegmentReference[] = [];
  const fail = (path: Path, message: string): void => {
    issues.push({ path, message });
  };

  const walk = (node: unknown, path: Path, scope: Subject): void => {
    const kind = ruleKindOf(node);
    if (kind === undefined) {
      fail(path, `not a rule — a rule has one of the keys ${ruleKinds.join(', ')}`);
      return;
    }
    const n = node as Record<string, unknown>;
    // A window without a unit gets its own wording before the generic shape check.
    if (kind === 'event' && isRecord(n.within) && n.within.unit === undefined) {
      fail([...path, 'within'], `the window has no unit — add unit: day (or minute, hour, week, month, year)`);
      return;
    }
    const parsed = shallowRuleSchemas[kind].safeParse(node, { reportInput: true });
    if (!parsed.success) {
      for (const issue of parsed.error.issues) issues.push({ path: [...path, ...(issue.path as Path)], message: issue.message, zodIssue: issue });
      return;
    }
    switch (kind) {
      case 'all':
      case 'any':
        (n[kind] as unknown[]).forEach((child, i) => walk(child, [...path, kind, i], scope));
        return;
      case 'not':
        walk(n.not, [...path, 'not'], scope);
        return;
      case 'trait': {
        const columns = scope === 'profiles' ? catalog.profiles : catalog.accounts;
        const name = String(n.trait);
        const columnKind = columns?.get(name);
        if (columnKind === undefined) return fail([...path, 'trait'], `unknown trait '${name}' of ${scope} — known: ${known(columns)}`);
        return checkComparison(n as Comparison, columnKind, `trait '${name}'`, path, fail);
      }
      case 'account_trait': {
        if (scope !== 'profiles') return fail([...path, 'account_trait'], 'account_trait is for segments over profiles — over accounts use trait:');
        if (!catalog.accounts) return fail([...path, 'account_trait'], 'the project has no accounts — declare accounts: in identity.yml');
        const name = String(n.account_trait);
        const columnKind = catalog.accounts.get(name);
        if (columnKind === undefined) return fail([...path, 'account_trait'], `unknown account trait '${name}' — known: ${known(catalog.accounts)}`);
        return checkComparison(n as Comparison, columnKind, `account trait '${name}'`, path, fail);
      }
      case 'event':
        return checkEvent(n, path, scope, catalog, fail);
      case 'account_members': {
        if (!catalog.accounts) return fail([...path, 'account_members'], 'the project has no accounts — declare accounts: and memberships: in identity.yml');
        const inner = n.account_members as { where: unknown };
        walk(inner.where, [...path, 'account_members', 'where'], 'profiles');
        return;
      }
      case 'in_segment': {
        const name = String(n.in_segment);
        const over = catalog.segments.get(name);
        if (over === undefined) return fail([...path, 'in_segment'], `unknown segment '${name}' — known: ${[...catalog.segments.keys()].sort().join(', ') || 'none'}`);
        if (over !== scope) return fail([...path, 'in_segment'], `segment '${name}' is over ${over}, this rule is over ${scope} — refer to a segment over ${scope}`);
        references.push({ segment: name, path: [...path, 'in_segment'] });
        return;
      }
      case 'sql':
        return;
    }
  };
  walk(raw, basePath, subject);
  return { issues, references };
}

function checkEvent(n: Record<string, unknown>, path: Path, scope: Subject, catalog: Catalog, fail: (path: Path, message: string) => void): void {
  if (scope !== 'profiles') return fail([...path, 'event'], 'event conditions are about people — over accounts use account_members: { at_least: N, where: { event: … } }');
  const sourceName = typeof n.source === 'string' ? n.source : [...catalog.events.keys()][0];
  if (sourceName === undefined) return fail([...path, 'event'], 'no events source is declared — add events: to segments.yml (model, identifier, event, timestamp)');
  const source = catalog.events.get(sourceName);
  if (!source) return fail([...path, 'source'], `unknown events source '${sourceName}' — declared: ${[...catalog.events.keys()].join(', ')}`);
  const event = String(n.event);
  if (source.fixedName !== undefined && event !== source.fixedName) {
    return fail([...path, 'event'], `unknown event '${event}' in source '${sourceName}' — its rows are all '${source.fixedName}'`);
  }
  if (source.names && !source.names.has(event)) {
    return fail([...path, 'event'], `unknown event '${event}' in source '${sourceName}' — seen: ${[...source.names].sort().slice(0, 12).join(', ')}`);
  }
  const filters = (n.where as PropertyFilter[] | undefined) ?? [];
  filters.forEach((f, i) => {
    const kind = source.columns.get(f.property);
    if (kind === undefined) return fail([...path, 'where', i, 'property'], `unknown property '${f.property}' of events source '${sourceName}' — known: ${known(source.columns)}`);
    checkComparison(f, kind, `property '${f.property}'`, [...path, 'where', i], fail);
  });
  const agg = n.aggregate as { fn: string; property: string; op: string; value: number | [number, number] } | undefined;
  if (agg) {
    const kind = source.columns.get(agg.property);
    if (kind === undefined) return fail([...path, 'aggregate', 'property'], `unknown property '${agg.property}' of events source '${sourceName}' — known: ${known(source.columns)}`);
    if (agg.fn !== 'count' && kind !== 'number') return fail([...path, 'aggregate', 'fn'], `${agg.fn} needs a numeric property; '${agg.property}' is ${kind} — use count, or a numeric property`);
    if ((agg.op === 'between') !== Array.isArray(agg.value)) return fail([...path, 'aggregate', 'value'], agg.op === 'between' ? 'between needs [low, high]' : `${agg.op} needs one number`);
  }
}

function checkComparison(c: Comparison, kind: ValueKind, what: string, path: Path, fail: (path: Path, message: string) => void): void {
  const allowed = operatorsByKind[kind];
  if (!allowed.includes(c.op)) return fail([...path, 'op'], `operator '${c.op}' does not apply to ${what} (${kind}) — use one of ${allowed.join(', ')}`);
  const relative = (relativeDateOps as readonly string[]).includes(c.op);
  if (relative && c.unit === undefined) return fail([...path, 'unit'], `the window of '${c.op}' has no unit — add unit: day (or minute, hour, week, month, year)`);
  if (!relative && c.unit !== undefined) return fail([...path, 'unit'], `unit applies only to within_last, not_within_last and between_ago — remove it`);
  const v = c.value;
  const at = [...path, 'value'];
  const scalarFits = (x: unknown) =>
    kind === 'number' ? typeof x === 'number' : kind === 'boolean' ? typeof x === 'boolean' : kind === 'time' ? typeof x === 'string' && !Number.isNaN(Date.parse(x)) : typeof x === 'string';
  const expected = kind === 'time' ? 'an ISO date such as 2026-01-31' : `a ${kind}`;
  switch (c.op) {
    case 'is_null':
    case 'is_not_null':
      if (v !== undefined) fail(at, `${c.op} takes no value — remove value:`);
      return;
    case 'in':
    case 'not_in':
      if (!Array.isArray(v) || v.length === 0 || !v.every(scalarFits)) fail(at, `${c.op} needs a list of ${kind} values — e.g. value: [a, b]`);
      return;
    case 'between':
      if (!Array.isArray(v) || v.length !== 2 || !v.every(scalarFits)) fail(at, `between needs [low, high], each ${expected}`);
      return;
    case 'within_last':
    case 'not_within_last':
      if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) fail(at, `${c.op} needs a whole number of units — e.g. value: 30, unit: day`);
      return;
    case 'between_ago':
      if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0) || (v[0] as number) > (v[1] as number)) {
        fail(at, 'between_ago needs [N, M] whole numbers with N ≤ M — e.g. value: [30, 90], unit: day');
      }
      return;
    default:
      if (Array.isArray(v) || v === undefined || !scalarFits(v)) fail(at, `${c.op} on ${what} needs ${expected}`);
  }
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function known(columns: Map<string, ValueKind> | undefined): string {
  const names = [...(columns?.keys() ?? [])];
  return names.length ? names.slice(0, 20).join(', ') : 'none';
}
