/**
 * The statements built from a planned segment (each a fresh SegmentSqlBuilder, so CTE names
 * restart and the text is stable for snapshots):
 *  - membersSql: the membership rows — the subject's columns (profiles.* / accounts.*, or a
 *    `sql:` segment's own columns) plus `split_group`;
 *  - keysSql: member keys only (overlap, history);
 *  - sizeSql: one scan giving the subject count, the count after each condition group
 *    (cumulative), after the holdout, and the size.
 */
import { SegmentSqlBuilder, indent, keyOf, subjectAlias } from './compile-rules';
import type { PlannedSegment, SegmentsPlan } from './load-segments';

function header(segment: PlannedSegment): string {
  return `-- segment ${segment.name} (${segment.file}): ${segment.over}${segment.description ? ` — ${segment.description.trim().split('\n')[0]}` : ''}\n`;
}

export function membersSql(plan: SegmentsPlan, segment: PlannedSegment): string {
  const b = new SegmentSqlBuilder(plan);
  const q = (n: string) => plan.dialect.quoteIdent(n);
  const key = keyOf(segment.over);
  if (segment.sql !== undefined) {
    const k = `s.${q(key)}`;
    return `${header(segment)}SELECT s.*, ${b.splitGroup(segment, k)} AS ${q('split_group')}\nFROM (\n${indent(segment.sql)}\n) AS s${b.holdoutWhere(segment, k, 'WHERE')}\n`;
  }
  const scope = b.scope(segment.rule!, segment.over, subjectAlias(segment.over));
  const k = `${scope.alias}.${q(key)}`;
  const body =
    `SELECT ${scope.alias}.*, ${b.splitGroup(segment, k)} AS ${q('split_group')}\n` +
    `FROM ${scope.from}\n` +
    `WHERE ${scope.predicate}${b.holdoutWhere(segment, k, 'AND')}\n`;
  return header(segment) + b.withClause() + body;
}

export function keysSql(plan: SegmentsPlan, segment: PlannedSegment): string {
  const b = new SegmentSqlBuilder(plan);
  const cte = b.segmentKeys(segment);
  return `${b.withClause()}SELECT ${plan.dialect.quoteIdent(keyOf(segment.over))} FROM ${cte}\n`;
}

export interface SizeColumns {
  /** Column aliases in order: total, step_1 … step_n, size. */
  steps: { column: string; label: string }[];
}

export function sizeSql(plan: SegmentsPlan, segment: PlannedSegment): { sql: string; steps: SizeColumns['steps'] } {
  const b = new SegmentSqlBuilder(plan);
  const q = (n: string) => plan.dialect.quoteIdent(n);
  const key = keyOf(segment.over);
  if (segment.sql !== undefined) {
    const k = `s.${q(key)}`;
    const outside = b.outsideHoldout(segment, k);
    const steps = [{ column: 'step_1', label: 'sql query' }];
    let select = `COUNT(DISTINCT ${k}) AS ${q('step_1')}`;
    if (outside) {
      steps.push({ column: 'step_2', label: 'outside the global holdout' });
      select += `, COUNT(DISTINCT CASE WHEN ${outside} THEN ${k} END) AS ${q('step_2')}`;
    }
    return { sql: `${header(segment)}SELECT ${select}\nFROM (\n${indent(segment.sql)}\n) AS s\n`, steps };
  }
  const scope = b.scope(segment.rule!, segment.over, subjectAlias(segment.over));
  const k = `${scope.alias}.${q(key)}`;
  const steps: SizeColumns['steps'] = [{ column: 'total', label: `all ${segment.over}` }];
  const selects = [`COUNT(*) AS ${q('total')}`];
  const sofar: string[] = [];
  scope.groups.forEach((g, i) => {
    sofar.push(g.predicate);
    const cond = sofar.join(g.combine === 'and' ? ' AND ' : ' OR ');
    const column = `step_${i + 1}`;
    steps.push({ column, label: `${i === 0 ? '' : g.combine === 'and' ? 'and ' : 'or '}${g.label}` });
    selects.push(`SUM(CASE WHEN ${cond} THEN 1 ELSE 0 END) AS ${q(column)}`);
  });
  const outside = b.outsideHoldout(segment, k);
  if (outside) {
    const all = sofar.join(scope.groups[scope.groups.length - 1]?.combine === 'or' ? ' OR ' : ' AND ');
    steps.push({ column: 'holdout', label: 'outside the global holdout' });
    selects.push(`SUM(CASE WHEN (${all}) AND ${outside} THEN 1 ELSE 0 END) AS ${q('holdout')}`);
  }
  const sql = header(segment) + b.withClause() + `SELECT\n  ${selects.join(',\n  ')}\nFROM ${scope.from}\n`;
  return { sql, steps };
}
