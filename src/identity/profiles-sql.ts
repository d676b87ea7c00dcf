/**
 * The profiles table: one row per profile_id with its identifiers, when it was first and
 * last seen, every declared trait merged by its rule, computed traits from models, and
 * (with B2B) the current account.
 *
 * Trait observations are source rows, attributed to the profile of the row's anchor (its
 * strongest accepted identifier). Merge rules:
 *  - latest: the value of the most recent row (rows without a timestamp last; ties by
 *    source priority, then value) — nulls never win;
 *  - first: the value of the earliest row; source_priority: the best source's latest value;
 *  - max / min / sum / count: over all non-null values; distinct_list: sorted, ', '-joined.
 */
import type { Dialect } from '../warehouse';
import type { IdentityPlan, PlannedComputedTraits } from './identity-plan';
import { normalizedSql } from './normalize-sql';
import { stagedRowsSql } from './stage-sql';

type Q = (n: string) => string;

/** Every source row that carries a trait, with its profile, time and source priority. */
export function traitRowsSql(d: Dialect, plan: IdentityPlan, registry: string): string | undefined {
  const q: Q = (n) => d.quoteIdent(n);
  const withTraits = plan.sources.filter((s) => s.traits.length > 0);
  if (withTraits.length === 0 || plan.traits.length === 0) return undefined;
  const traitCols = plan.traits.map((t) => `s.${q(`t_${t.name}`)}`).join(', ');
  return withTraits
    .map(
      (source) =>
        `SELECT g.${q('profile_id')} AS ${q('profile_id')}, s.${q('_ts')} AS ${q('_ts')}, s.${q('_priority')} AS ${q('_priority')}, ${traitCols}\n` +
        `FROM (${stagedRowsSql(d, plan, source)}) AS s\n` +
        `JOIN ${registry} AS g ON g.${q('identifier_type')} = s.${q('anchor_type')} AND g.${q('identifier_value')} = s.${q('anchor_value')}`,
    )
    .join('\nUNION ALL\n');
}

function traitSql(d: Dialect, name: string, rule: string, rows: string): string {
  const q: Q = (n) => d.quoteIdent(n);
  const col = q(`t_${name}`);
  const nullsLast = `CASE WHEN ${q('_ts')} IS NULL THEN 1 ELSE 0 END`;
  const ranked = (order: string) =>
    `SELECT ${q('profile_id')}, ${q('value')} FROM (SELECT ${q('profile_id')}, ${col} AS ${q('value')}, ` +
    `ROW_NUMBER() OVER (PARTITION BY ${q('profile_id')} ORDER BY ${order}) AS ${q('rn')} FROM ${rows} WHERE ${col} IS NOT NULL) AS r WHERE ${q('rn')} = 1`;
  switch (rule) {
    case 'latest':
      return ranked(`${nullsLast}, ${q('_ts')} DESC, ${q('_priority')}, ${col}`);
    case 'first':
      return ranked(`${nullsLast}, ${q('_ts')}, ${q('_priority')}, ${col}`);
    case 'source_priority':
      return ranked(`${q('_priority')}, ${nullsLast}, ${q('_ts')} DESC, ${col}`);
    case 'distinct_list':
      return `SELECT ${q('profile_id')}, ${d.distinctStringAgg(col, ', ')} AS ${q('value')} FROM ${rows} WHERE ${col} IS NOT NULL GROUP BY ${q('profile_id')}`;
    default: {
      const fn = { max: 'MAX', min: 'MIN', sum: 'SUM', count: 'COUNT' }[rule] ?? 'MAX';
      return `SELECT ${q('profile_id')}, ${fn}(${col}) AS ${q('value')} FROM ${rows} WHERE ${col} IS NOT NULL GROUP BY ${q('profile_id')}`;
    }
  }
}

function computedSql(d: Dialect, c: PlannedComputedTraits, registry: string): string {
  const q: Q = (n) => d.quoteIdent(n);
  const aggregates = c.columns.map((col) => `${col.rule.toUpperCase()}(m.${q(col.column)}) AS ${q(col.as)}`).join(', ');
  if (c.key === 'profile_id') {
    return `SELECT m.${q('profile_id')} AS ${q('profile_id')}, ${aggregates} FROM ${d.qualify(c.ref)} AS m GROUP BY m.${q('profile_id')}`;
  }
  const key = normalizedSql(d, c.key.rule, `m.${q(c.key.column)}`);
  return (
    `SELECT g.${q('profile_id')} AS ${q('profile_id')}, ${aggregates} FROM ${d.qualify(c.ref)} AS m\n` +
    `JOIN ${registry} AS g ON g.${q('identifier_type')} = ${d.literal(c.key.rule.name)} AND g.${q('identifier_value')} = ${key}\n` +
    `GROUP BY g.${q('profile_id')}`
  );
}

export function profilesSql(d: Dialect, plan: IdentityPlan, registry: string, traitRows: string | undefined, currentAccount: string | undefined): string {
  const q: Q = (n) => d.quoteIdent(n);
  const joins: string[] = [];
  const columns: string[] = [
    `p.${q('profile_id')} AS ${q('profile_id')}`,
    `p.${q('identifiers')} AS ${q('identifiers')}`,
    `p.${q('identifier_count')} AS ${q('identifier_count')}`,
    `p.${q('first_seen')} AS ${q('first_seen')}`,
    `p.${q('last_seen')} AS ${q('last_seen')}`,
  ];
  plan.traits.forEach((t, i) => {
    const alias = `t${i}`;
    if (traitRows) {
      joins.push(`LEFT JOIN (${traitSql(d, t.name, t.spec.rule, traitRows)}) AS ${alias} ON ${alias}.${q('profile_id')} = p.${q('profile_id')}`);
      columns.push(`${alias}.${q('value')} AS ${q(t.name)}`);
    } else {
      columns.push(`${d.cast('NULL', t.spec.rule === 'count' ? 'integer' : t.spec.type)} AS ${q(t.name)}`);
    }
  });
  plan.computed.forEach((c, i) => {
    const alias = `c${i}`;
    joins.push(`LEFT JOIN (${computedSql(d, c, registry)}) AS ${alias} ON ${alias}.${q('profile_id')} = p.${q('profile_id')}`);
    for (const col of c.columns) columns.push(`${alias}.${q(col.as)} AS ${q(col.as)}`);
  });
  if (currentAccount) {
    joins.push(`LEFT JOIN ${currentAccount} AS ca ON ca.${q('profile_id')} = p.${q('profile_id')}`);
    columns.push(`ca.${q('account_id')} AS ${q('current_account_id')}`);
  }
  const identifier = `${q('identifier_type')} || ':' || ${q('identifier_value')}`;
  return [
    `SELECT ${columns.join(',\n  ')}`,
    `FROM (SELECT ${q('profile_id')}, ${d.distinctStringAgg(identifier, ' ')} AS ${q('identifiers')}, COUNT(*) AS ${q('identifier_count')},`,
    `    MIN(${q('first_seen')}) AS ${q('first_seen')}, MAX(${q('last_seen')}) AS ${q('last_seen')}`,
    `  FROM ${registry} GROUP BY ${q('profile_id')}) AS p`,
    ...joins,
  ].join('\n');
}
