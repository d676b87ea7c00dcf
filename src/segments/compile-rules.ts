/**
 * Rule tree → SQL, per dialect, through the dialect's macros only. A segment compiles to
 *
 *   WITH <one CTE per event condition, account_members condition and referenced segment>
 *   SELECT … FROM <profiles|accounts> AS p LEFT JOIN <those CTEs> WHERE <predicate>
 *
 * Invariants:
 *  - every LEFT JOIN is on a unique key (CTEs are grouped by it), so the subject's rows are
 *    never multiplied;
 *  - every condition is two-valued: a comparison with NULL is FALSE (COALESCE(…, FALSE)), so
 *    NOT is plain negation — `not: { trait: x, op: eq, value: 1 }` holds people without x;
 *  - relative dates count back from `plan.asOf` (a literal) or the warehouse's now();
 *  - referenced segments are inlined (a live size never reads a stale table); planning has
 *    rejected cycles, and each is inlined once per statement.
 */
import { normalizedSql } from '../identity';
import type { Dialect } from '../warehouse';
import { describeRule } from './describe-rule';
import type { PlannedSegment, SegmentsPlan } from './load-segments';
import type { Comparison, EventCondition, Rule, Times } from './rule-schema';
import type { ValueKind } from './catalog';

type Subject = 'profiles' | 'accounts';

export interface Cte {
  name: string;
  comment: string;
  sql: string;
}

/** One compiled subject query: FROM + joins and its predicate, plus the root's condition groups. */
export interface Scope {
  alias: string;
  key: string;
  from: string;
  predicate: string;
  /** Top-level condition groups of the root (for per-group sizes). */
  groups: { label: string; predicate: string; combine: 'and' | 'or' }[];
}

export const keyOf = (over: Subject) => (over === 'profiles' ? 'profile_id' : 'account_id');
/**
 * The subject row is always `p` (profiles) or `a` (accounts), also in nested queries (an
 * inner query's alias shadows the outer one), so a raw `sql:` condition reads the same
 * wherever it sits.
 */
export const subjectAlias = (over: Subject) => (over === 'profiles' ? 'p' : 'a');

export class SegmentSqlBuilder {
  readonly ctes: Cte[] = [];
  private readonly inlined = new Map<string, string>();
  private counter = 0;
  private readonly d: Dialect;

  constructor(private readonly plan: SegmentsPlan) {
    this.d = plan.dialect;
  }

  private q = (n: string) => this.d.quoteIdent(n);
  private next = (prefix: string) => `${prefix}${++this.counter}`;

  private asOf(): string {
    return this.plan.asOf ? this.d.literal(this.plan.asOf) : this.d.now();
  }

  /** WITH … prefix of the statement (empty when there are no CTEs). */
  withClause(): string {
    if (this.ctes.length === 0) return '';
    const parts = this.ctes.map((c) => `-- ${c.comment}\n${c.name} AS (\n${indent(c.sql)}\n)`);
    return `WITH\n${parts.join(',\n')}\n`;
  }

  scope(rule: Rule, subject: Subject, alias: string): Scope {
    const joins: string[] = [];
    const key = keyOf(subject);
    const base = subject === 'profiles' ? this.plan.tables.profiles : this.plan.tables.accounts;
    const ctx: LeafContext = { alias, subject, joins, accountAlias: undefined };
    const groups = topGroups(rule).map((g) => ({ ...g, predicate: this.predicate(g.rule, ctx) }));
    const predicate =
      'all' in rule ? groups.map((g) => g.predicate).join('\n  AND ') : 'any' in rule ? groups.map((g) => g.predicate).join('\n  OR ') : groups[0]!.predicate;
    const from = [`${this.d.qualify(base)} AS ${alias}`, ...joins].join('\n');
    return { alias, key, from, predicate, groups: groups.map((g) => ({ label: g.label, predicate: g.predicate, combine: g.combine })) };
  }

  /** The keys of a segment's members, as a CTE name (inlined once per statement). */
  segmentKeys(segment: PlannedSegment): string {
    const existing = this.inlined.get(segment.name);
    if (existing) return existing;
    const key = keyOf(segment.over);
    let sql: string;
    if (segment.sql !== undefined) {
      sql = `SELECT DISTINCT s.${this.q(key)} AS ${this.q(key)}\nFROM (\n${indent(segment.sql)}\n) AS s${this.holdoutWhere(segment, `s.${this.q(key)}`, 'WHERE')}`;
    } else {
      const scope = this.scope(segment.rule!, segment.over, subjectAlias(segment.over));
      sql = `SELECT ${scope.alias}.${this.q(key)} AS ${this.q(key)}\nFROM ${scope.from}\nWHERE ${scope.predicate}${this.holdoutWhere(segment, `${scope.alias}.${this.q(key)}`, 'AND')}`;
    }
    const name = `in_${segment.name}`;
    this.ctes.push({ name, comment: `members of segment ${segment.name}`, sql });
    this.inlined.set(segment.name, name);
    return name;
  }

  /** ` AND <key is outside the global holdout>` when the segment opted in. */
  holdoutWhere(segment: PlannedSegment, keyExpr: string, glue: 'AND' | 'WHERE'): string {
    const predicate = this.outsideHoldout(segment, keyExpr);
    return predicate ? `\n${glue === 'AND' ? '  AND' : 'WHERE'} ${predicate}` : '';
  }

  outsideHoldout(segment: PlannedSegment, keyExpr: string): string | undefined {
    const h = this.plan.config.holdout;
    if (!segment.excludeHoldout || !h) return undefined;
    return `${this.d.hashBucket([this.d.literal(h.salt), keyExpr], 10000)} >= ${Math.round(h.percent * 100)}`;
  }

  /** The split group of a member (NULL without splits): cumulative basis points over a hash bucket. */
  splitGroup(segment: PlannedSegment, keyExpr: string): string {
    if (segment.splits.length === 0) return `${this.d.cast('NULL', 'string')}`;
    const bucket = this.d.hashBucket([this.d.literal(segment.splitSalt), keyExpr], 10000);
    let upTo = 0;
    const whens = segment.splits.slice(0, -1).map((s) => {
      upTo += Math.round(s.percent * 100);
      return `WHEN ${bucket} < ${upTo} THEN ${this.d.literal(s.group)}`;
    });
    return `CASE ${whens.join(' ')} ELSE ${this.d.literal(segment.splits[segment.splits.length - 1]!.group)} END`;
  }

  private predicate(rule: Rule, ctx: LeafContext): string {
    const d = this.d;
    const q = this.q;
    if ('all' in rule) return `(${rule.all.map((r) => this.predicate(r, ctx)).join(' AND ')})`;
    if ('any' in rule) return `(${rule.any.map((r) => this.predicate(r, ctx)).join(' OR ')})`;
    if ('not' in rule) return `NOT ${this.predicate(rule.not, ctx)}`;
    if ('trait' in rule) {
      const kinds = ctx.subject === 'profiles' ? this.plan.catalog.profiles : this.plan.catalog.accounts!;
      return comparisonSql(d, `${ctx.alias}.${q(rule.trait)}`, rule, kinds.get(rule.trait) ?? 'string', this.asOf());
    }
    if ('account_trait' in rule) {
      if (!ctx.accountAlias) {
        ctx.accountAlias = `${ctx.alias}_account`;
        ctx.joins.push(`LEFT JOIN ${d.qualify(this.plan.tables.accounts)} AS ${ctx.accountAlias} ON ${ctx.accountAlias}.${q('account_id')} = ${ctx.alias}.${q('current_account_id')}`);
      }
      return comparisonSql(d, `${ctx.accountAlias}.${q(rule.account_trait)}`, rule, this.plan.catalog.accounts!.get(rule.account_trait) ?? 'string', this.asOf());
    }
    if ('event' in rule) {
      const name = this.eventCte(rule);
      ctx.joins.push(`LEFT JOIN ${name} ON ${name}.${q('profile_id')} = ${ctx.alias}.${q('profile_id')}`);
      const times = timesSql(`COALESCE(${name}.${q('n')}, 0)`, rule.times ?? { at_least: 1 });
      if (!rule.aggregate) return times;
      const value = rule.aggregate.fn === 'count' ? `COALESCE(${name}.${q('v')}, 0)` : `${name}.${q('v')}`;
      return `(${times} AND ${comparisonSql(d, value, rule.aggregate, 'number', this.asOf())})`;
    }
    if ('account_members' in rule) {
      const inner = this.scope(rule.account_members.where, 'profiles', subjectAlias('profiles'));
      const name = this.next('m');
      const m = 'am';
      this.ctes.push({
        name,
        comment: describeRule(rule),
        sql:
          `SELECT ${m}.${q('account_id')} AS ${q('account_id')}, COUNT(DISTINCT ${m}.${q('profile_id')}) AS ${q('n')}\n` +
          `FROM ${d.qualify(this.plan.tables.memberships)} AS ${m}\n` +
          `WHERE ${m}.${q('is_current')} AND ${m}.${q('profile_id')} IN (\n` +
          indent(`SELECT ${inner.alias}.${q('profile_id')}\nFROM ${inner.from}\nWHERE ${inner.predicate}`) +
          `\n)\nGROUP BY ${m}.${q('account_id')}`,
      });
      const on = ctx.subject === 'profiles' ? `${ctx.alias}.${q('current_account_id')}` : `${ctx.alias}.${q('account_id')}`;
      ctx.joins.push(`LEFT JOIN ${name} ON ${name}.${q('account_id')} = ${on}`);
      return `COALESCE(${name}.${q('n')}, 0) >= ${rule.account_members.at_least}`;
    }
    if ('in_segment' in rule) {
      const target = this.plan.byName.get(rule.in_segment)!;
      const cte = this.segmentKeys(target);
      const alias = this.next('s');
      const key = keyOf(ctx.subject);
      ctx.joins.push(`LEFT JOIN ${cte} AS ${alias} ON ${alias}.${q(key)} = ${ctx.alias}.${q(key)}`);
      return `${alias}.${q(key)} IS NOT NULL`;
    }
    return `COALESCE((${rule.sql.trim()}), FALSE)`;
  }

  private eventCte(rule: EventCondition): string {
    const d = this.d;
    const q = this.q;
    const sourceName = rule.source ?? [...this.plan.events.keys()][0]!;
    const source = this.plan.events.get(sourceName)!;
    const columns = this.plan.catalog.events.get(sourceName)?.columns ?? new Map<string, ValueKind>();
    const e = 'ev';
    const where: string[] = [];
    if (source.eventColumn) where.push(`${e}.${q(source.eventColumn)} = ${d.literal(rule.event)}`);
    if (rule.within) where.push(`${e}.${q(source.timestamp)} >= ${d.dateAdd(rule.within.unit, -rule.within.last, this.asOf())}`);
    for (const f of rule.where) where.push(comparisonSql(d, `${e}.${q(f.property)}`, f, columns.get(f.property) ?? 'string', this.asOf()));
    let person: string;
    let join = '';
    if (source.identifier === 'profile_id') {
      person = `${e}.${q('profile_id')}`;
      where.push(`${person} IS NOT NULL`);
    } else {
      person = `g.${q('profile_id')}`;
      join =
        `\nJOIN ${d.qualify(this.plan.tables.graph)} AS g ON g.${q('identifier_type')} = ${d.literal(source.identifier.rule.name)}` +
        ` AND g.${q('identifier_value')} = ${normalizedSql(d, source.identifier.rule, `${e}.${q(source.identifier.column)}`)}`;
    }
    const agg = rule.aggregate ? `, ${rule.aggregate.fn.toUpperCase()}(${e}.${q(rule.aggregate.property)}) AS ${q('v')}` : '';
    const name = this.next('e');
    this.ctes.push({
      name,
      comment: `${describeRule(rule)} (events: ${sourceName})`,
      sql:
        `SELECT ${person} AS ${q('profile_id')}, COUNT(*) AS ${q('n')}${agg}\n` +
        `FROM ${d.qualify(source.ref)} AS ${e}${join}\n` +
        (where.length ? `WHERE ${where.join('\n  AND ')}\n` : '') +
        `GROUP BY ${person}`,
    });
    return name;
  }
}

interface LeafContext {
  alias: string;
  subject: Subject;
  joins: string[];
  accountAlias: string | undefined;
}

function topGroups(rule: Rule): { rule: Rule; label: string; combine: 'and' | 'or' }[] {
  if ('all' in rule) return rule.all.map((r) => ({ rule: r, label: describeRule(r), combine: 'and' as const }));
  if ('any' in rule) return rule.any.map((r) => ({ rule: r, label: describeRule(r), combine: 'or' as const }));
  return [{ rule, label: describeRule(rule), combine: 'and' }];
}

function timesSql(n: string, times: Times): string {
  if ('at_least' in times) return `${n} >= ${times.at_least}`;
  if ('at_most' in times) return `${n} <= ${times.at_most}`;
  return `${n} = ${times.exactly}`;
}

/** A two-valued comparison of `x` (NULL compares FALSE); `kind` decides how values are written. */
export function comparisonSql(d: Dialect, x: string, c: Comparison, kind: ValueKind, asOf: string): string {
  const lit = (v: unknown): string => (kind === 'time' ? d.literal(new Date(String(v))) : d.literal(v as string | number | boolean));
  const list = () => (c.value as unknown[]).map(lit).join(', ');
  const pair = () => c.value as [unknown, unknown];
  const ago = (n: unknown) => d.dateAdd(c.unit!, -Number(n), asOf);
  let p: string;
  switch (c.op) {
    case 'is_null':
      return `${x} IS NULL`;
    case 'is_not_null':
      return `${x} IS NOT NULL`;
    case 'eq': p = `${x} = ${lit(c.value)}`; break;
    case 'neq': p = `${x} <> ${lit(c.value)}`; break;
    case 'gt': p = `${x} > ${lit(c.value)}`; break;
    case 'gte': p = `${x} >= ${lit(c.value)}`; break;
    case 'lt': p = `${x} < ${lit(c.value)}`; break;
    case 'lte': p = `${x} <= ${lit(c.value)}`; break;
    case 'in': p = `${x} IN (${list()})`; break;
    case 'not_in': p = `${x} NOT IN (${list()})`; break;
    case 'between': p = `${x} BETWEEN ${lit(pair()[0])} AND ${lit(pair()[1])}`; break;
    case 'contains': p = d.containsText(x, String(c.value)); break;
    case 'starts_with': p = d.startsWithText(x, String(c.value)); break;
    case 'within_last': p = `${x} >= ${ago(c.value)}`; break;
    case 'not_within_last': p = `${x} < ${ago(c.value)}`; break;
    case 'between_ago': p = `${x} <= ${ago(pair()[0])} AND ${x} >= ${ago(pair()[1])}`; break;
  }
  return `COALESCE(${p}, FALSE)`;
}

export function indent(text: string, by = '  '): string {
  return text
    .split('\n')
    .map((l) => (l.length ? by + l : l))
    .join('\n');
}
