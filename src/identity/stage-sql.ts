/**
 * SQL that reads one source: each identifier column normalised, blocked values found, the
 * row's anchor (its strongest accepted identifier) chosen, trait columns cast to their
 * declared types. From the staged rows come the edges (anchor — each other identifier of
 * the row: a star per row, which connects the row's identifiers with k−1 edges instead of
 * k²/2) and the blocked/invalid values.
 *
 * Column names of a staged row: `_source`, `_priority`, `_ts`, for identifier x: `raw_x`
 * (text as given), `n_x` (normalised, NULL if absent or invalid), `b_x` (block reason),
 * `v_x` (accepted value); `anchor_type`, `anchor_value`; trait t: `t_t`.
 */
import type { Dialect } from '../warehouse';
import type { IdentityPlan, PlannedSource } from './identity-plan';
import { blockReasonSql, normalizedSql } from './normalize-sql';

export function stagedRowsSql(d: Dialect, plan: IdentityPlan, source: PlannedSource, where?: string): string {
  const q = (n: string) => d.quoteIdent(n);
  const ids = source.identifiers;
  const traitsOf = (alias: string) => plan.traits.map((t) => {
    const column = source.traits.find((s) => s.name === t.name)?.column;
    const type = t.spec.type;
    const expression = column === undefined ? `NULL` : `${alias}.${q(column)}`;
    return `${d.cast(expression, type)} AS ${q(`t_${t.name}`)}`;
  });
  const ts = source.timestamp === undefined ? `CAST(NULL AS ${d.typeName('timestamp')})` : d.cast(`s.${q(source.timestamp)}`, 'timestamp');
  const level1 = [
    `${ts} AS ${q('_ts')}`,
    ...ids.flatMap(({ rule, column }) => [
      `${d.cast(`s.${q(column)}`, 'string')} AS ${q(`raw_${rule.name}`)}`,
      `${normalizedSql(d, rule, `s.${q(column)}`)} AS ${q(`n_${rule.name}`)}`,
    ]),
    ...traitsOf('s'),
  ];
  const carried = [q('_ts'), ...ids.flatMap(({ rule }) => [q(`raw_${rule.name}`), q(`n_${rule.name}`)]), ...plan.traits.map((t) => q(`t_${t.name}`))];
  const level2 = [...carried, ...ids.map(({ rule }) => `CASE WHEN ${q(`n_${rule.name}`)} IS NOT NULL THEN ${blockReasonSql(d, rule, q(`n_${rule.name}`))} END AS ${q(`b_${rule.name}`)}`)];
  const accepted = (name: string) => `${q(`n_${name}`)} IS NOT NULL AND ${q(`b_${name}`)} IS NULL`;
  const level3 = [
    `${d.literal(source.name)} AS ${q('_source')}`,
    `${source.priority} AS ${q('_priority')}`,
    ...carried,
    ...ids.flatMap(({ rule }) => [q(`b_${rule.name}`), `CASE WHEN ${accepted(rule.name)} THEN ${q(`n_${rule.name}`)} END AS ${q(`v_${rule.name}`)}`]),
    `CASE ${ids.map(({ rule }) => `WHEN ${accepted(rule.name)} THEN ${d.literal(rule.name)}`).join(' ')} END AS ${q('anchor_type')}`,
    `CASE ${ids.map(({ rule }) => `WHEN ${accepted(rule.name)} THEN ${q(`n_${rule.name}`)}`).join(' ')} END AS ${q('anchor_value')}`,
  ];
  return [
    `SELECT ${level3.join(',\n  ')}`,
    `FROM (SELECT ${level2.join(', ')}`,
    `  FROM (SELECT ${level1.join(',\n    ')}`,
    `    FROM ${d.qualify(source.ref)} AS s) AS l1`,
    `  ) AS l2`,
    where ? `WHERE ${where}` : '',
  ].join('\n');
}

/** Edges of staged rows, oriented (a ≤ b by type then value) and aggregated per source. */
export function edgesFromStageSql(d: Dialect, source: PlannedSource, stage: string): string {
  const q = (n: string) => d.quoteIdent(n);
  const legs = source.identifiers.map(
    ({ rule }) =>
      `SELECT ${q('anchor_type')} AS ${q('x_type')}, ${q('anchor_value')} AS ${q('x_value')}, ${d.literal(rule.name)} AS ${q('y_type')}, ` +
      `${q(`v_${rule.name}`)} AS ${q('y_value')}, ${q('_ts')} AS ${q('seen_at')} FROM ${stage} WHERE ${q(`v_${rule.name}`)} IS NOT NULL`,
  );
  const swap = `(${q('x_type')} > ${q('y_type')} OR (${q('x_type')} = ${q('y_type')} AND ${q('x_value')} > ${q('y_value')}))`;
  const pick = (first: string, second: string, as: string) => `CASE WHEN ${swap} THEN ${q(second)} ELSE ${q(first)} END AS ${q(as)}`;
  return [
    `SELECT ${q('a_type')}, ${q('a_value')}, ${q('b_type')}, ${q('b_value')}, ${d.literal(source.name)} AS ${q('source')}, ${source.priority} AS ${q('source_priority')},`,
    `  MIN(${q('seen_at')}) AS ${q('first_seen')}, MAX(${q('seen_at')}) AS ${q('last_seen')}`,
    `FROM (SELECT ${pick('x_type', 'y_type', 'a_type')}, ${pick('x_value', 'y_value', 'a_value')}, ${pick('y_type', 'x_type', 'b_type')}, ${pick('y_value', 'x_value', 'b_value')}, ${q('seen_at')}`,
    `  FROM (${legs.join('\n  UNION ALL ')}) AS legs) AS oriented`,
    `GROUP BY ${q('a_type')}, ${q('a_value')}, ${q('b_type')}, ${q('b_value')}`,
  ].join('\n');
}

/** Values a source gave that were invalid (normalisation failed) or blocked, aggregated. */
export function blockedFromStageSql(d: Dialect, source: PlannedSource, stage: string): string {
  const q = (n: string) => d.quoteIdent(n);
  const legs = source.identifiers.map(({ rule }) => {
    const raw = q(`raw_${rule.name}`);
    const n = q(`n_${rule.name}`);
    const b = q(`b_${rule.name}`);
    return (
      `SELECT ${d.literal(rule.name)} AS ${q('identifier_type')}, COALESCE(${n}, ${raw}) AS ${q('identifier_value')}, ` +
      `CASE WHEN ${n} IS NULL THEN 'invalid' ELSE ${b} END AS ${q('reason')}, ${q('_ts')} AS ${q('seen_at')} FROM ${stage} ` +
      `WHERE (${n} IS NULL AND NULLIF(trim(${raw}), '') IS NOT NULL) OR ${b} IS NOT NULL`
    );
  });
  return [
    `SELECT ${q('identifier_type')}, ${q('identifier_value')}, ${d.literal(source.name)} AS ${q('source')}, ${q('reason')},`,
    `  COUNT(*) AS ${q('occurrences')}, MIN(${q('seen_at')}) AS ${q('first_seen')}, MAX(${q('seen_at')}) AS ${q('last_seen')}`,
    `FROM (${legs.join('\n  UNION ALL ')}) AS rejected`,
    `GROUP BY ${q('identifier_type')}, ${q('identifier_value')}, ${q('reason')}`,
  ].join('\n');
}
