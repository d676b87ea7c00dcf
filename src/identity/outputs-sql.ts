/**
 * SELECTs of the user-facing tables that come straight from state: identity_graph (the
 * registry) and identity_rejections (blocked/invalid values and limit-rejected edges, each
 * with its reason and, for limits, the profiles on both sides).
 */
import type { Dialect } from '../warehouse';

export function identityGraphSql(d: Dialect, registry: string): string {
  const q = (n: string) => d.quoteIdent(n);
  const cols = ['identifier_type', 'identifier_value', 'profile_id', 'first_seen', 'last_seen', 'sources'].map(q).join(', ');
  return `SELECT ${cols} FROM ${registry}`;
}

export function rejectionsSql(d: Dialect, blocked: string, limitRejections: string, registry: string): string {
  const q = (n: string) => d.quoteIdent(n);
  const str = (x: string) => d.cast(x, 'string');
  return [
    `SELECT CASE WHEN b.${q('reason')} = 'invalid' THEN 'invalid' ELSE 'blocked' END AS ${q('kind')}, b.${q('reason')} AS ${q('reason')},`,
    `  b.${q('identifier_type')} AS ${q('identifier_type')}, b.${q('identifier_value')} AS ${q('identifier_value')},`,
    `  ${str('NULL')} AS ${q('other_type')}, ${str('NULL')} AS ${q('other_value')}, b.${q('source')} AS ${q('sources')},`,
    `  ${str('NULL')} AS ${q('profile_id')}, ${str('NULL')} AS ${q('other_profile_id')}, b.${q('occurrences')} AS ${q('occurrences')},`,
    `  b.${q('first_seen')} AS ${q('first_seen')}, b.${q('last_seen')} AS ${q('last_seen')}`,
    `FROM ${blocked} AS b`,
    `UNION ALL`,
    `SELECT 'limit', l.${q('reason')}, l.${q('a_type')}, l.${q('a_value')}, l.${q('b_type')}, l.${q('b_value')}, l.${q('sources')},`,
    `  ra.${q('profile_id')}, rb.${q('profile_id')}, CAST(1 AS ${d.typeName('integer')}), l.${q('first_seen')}, l.${q('first_seen')}`,
    `FROM ${limitRejections} AS l`,
    `LEFT JOIN ${registry} AS ra ON ra.${q('identifier_type')} = l.${q('a_type')} AND ra.${q('identifier_value')} = l.${q('a_value')}`,
    `LEFT JOIN ${registry} AS rb ON rb.${q('identifier_type')} = l.${q('b_type')} AND rb.${q('identifier_value')} = l.${q('b_value')}`,
  ].join('\n');
}

/** Limit rejections of this run, named by values (node ids do not outlive the run). */
export function limitRejectionRowsSql(d: Dialect, rejected: string, pairs: string, nodes: string): string {
  const q = (n: string) => d.quoteIdent(n);
  return (
    `SELECT na.${q('t')} AS ${q('a_type')}, na.${q('v')} AS ${q('a_value')}, nb.${q('t')} AS ${q('b_type')}, nb.${q('v')} AS ${q('b_value')},\n` +
    `  p.${q('sources')} AS ${q('sources')}, r.${q('reason')} AS ${q('reason')}, p.${q('first_seen')} AS ${q('first_seen')}\n` +
    `FROM ${rejected} AS r\n` +
    `JOIN ${pairs} AS p ON p.${q('src')} = r.${q('src')} AND p.${q('dst')} = r.${q('dst')}\n` +
    `JOIN ${nodes} AS na ON na.${q('node_id')} = r.${q('src')}\n` +
    `JOIN ${nodes} AS nb ON nb.${q('node_id')} = r.${q('dst')}`
  );
}
