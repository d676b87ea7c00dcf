/**
 * SQL of the graph steps between the staged edges and the clusters: merging new edges into
 * the stored ones, the set of identifiers a run must recompute, dense integer node ids,
 * integer edges for the components engine, the components that break a limit, and the
 * final clusters. Pure text builders over the dialect; `run-identity.ts` runs them.
 */
import type { Dialect, TableRef } from '../warehouse';
import type { IdentifierRule } from './identifier-rules';

type Q = (name: string) => string;
const quoter = (d: Dialect): Q => (n) => d.quoteIdent(n);

/** Old and new edges as one aggregated set (idempotent: min/max/min). */
export function mergedEdgesSql(d: Dialect, parts: string[]): string {
  const q = quoter(d);
  const key = ['a_type', 'a_value', 'b_type', 'b_value', 'source'].map(q).join(', ');
  return (
    `SELECT ${key}, MIN(${q('source_priority')}) AS ${q('source_priority')}, MIN(${q('first_seen')}) AS ${q('first_seen')}, MAX(${q('last_seen')}) AS ${q('last_seen')}\n` +
    `FROM (${parts.join('\n  UNION ALL ')}) AS e GROUP BY ${key}`
  );
}

export function mergedBlockedSql(d: Dialect, parts: string[]): string {
  const q = quoter(d);
  const key = ['identifier_type', 'identifier_value', 'source', 'reason'].map(q).join(', ');
  return (
    `SELECT ${key}, SUM(${q('occurrences')}) AS ${q('occurrences')}, MIN(${q('first_seen')}) AS ${q('first_seen')}, MAX(${q('last_seen')}) AS ${q('last_seen')}\n` +
    `FROM (${parts.join('\n  UNION ALL ')}) AS b GROUP BY ${key}`
  );
}

/** Endpoints of a set of edges, as (t, v). */
export function endpointsSql(d: Dialect, edges: string): string {
  const q = quoter(d);
  return `SELECT ${q('a_type')} AS ${q('t')}, ${q('a_value')} AS ${q('v')} FROM ${edges} UNION SELECT ${q('b_type')}, ${q('b_value')} FROM ${edges}`;
}

/**
 * Incremental: the new edges' endpoints plus every identifier of the raw components they
 * touch (a component is closed under edges, so recomputing whole components is exact).
 */
export function affectedSql(d: Dialect, newEdges: string, registry: string): string {
  const q = quoter(d);
  return (
    `SELECT ${q('t')}, ${q('v')} FROM (${endpointsSql(d, newEdges)}) AS touched\n` +
    `UNION\nSELECT r.${q('identifier_type')}, r.${q('identifier_value')} FROM ${registry} AS r\n` +
    `WHERE r.${q('component_key')} IN (SELECT r2.${q('component_key')} FROM ${registry} AS r2 JOIN (${endpointsSql(d, newEdges)}) AS n ON n.${q('t')} = r2.${q('identifier_type')} AND n.${q('v')} = r2.${q('identifier_value')})`
  );
}

/** Stored edges with an endpoint in the affected set (both are, by closure). */
export function subEdgesSql(d: Dialect, edges: string, affected: string): string {
  const q = quoter(d);
  return `SELECT e.* FROM ${edges} AS e JOIN ${affected} AS a ON a.${q('t')} = e.${q('a_type')} AND a.${q('v')} = e.${q('a_value')}`;
}

/** Dense node ids ≥ 1 (ordered by type and value), with when and where each was seen. */
export function nodesSql(d: Dialect, subEdges: string): string {
  const q = quoter(d);
  const side = (p: 'a' | 'b') =>
    `SELECT ${q(`${p}_type`)} AS ${q('t')}, ${q(`${p}_value`)} AS ${q('v')}, ${q('source')}, ${q('first_seen')}, ${q('last_seen')} FROM ${subEdges}`;
  return (
    `SELECT ${q('t')}, ${q('v')}, ROW_NUMBER() OVER (ORDER BY ${q('t')}, ${q('v')}) AS ${q('node_id')},\n` +
    `  MIN(${q('first_seen')}) AS ${q('first_seen')}, MAX(${q('last_seen')}) AS ${q('last_seen')}, ${d.distinctStringAgg(q('source'), ',')} AS ${q('sources')}\n` +
    `FROM (${side('a')} UNION ALL ${side('b')}) AS sides GROUP BY ${q('t')}, ${q('v')}`
  );
}

/** One row per node pair: best source priority, first seen, the sources that saw it. */
export function pairsSql(d: Dialect, subEdges: string, nodes: string): string {
  const q = quoter(d);
  return (
    `SELECT na.${q('node_id')} AS ${q('src')}, nb.${q('node_id')} AS ${q('dst')}, MIN(e.${q('source_priority')}) AS ${q('source_priority')},\n` +
    `  MIN(e.${q('first_seen')}) AS ${q('first_seen')}, ${d.distinctStringAgg(`e.${q('source')}`, ',')} AS ${q('sources')}\n` +
    `FROM ${subEdges} AS e\n` +
    `JOIN ${nodes} AS na ON na.${q('t')} = e.${q('a_type')} AND na.${q('v')} = e.${q('a_value')}\n` +
    `JOIN ${nodes} AS nb ON nb.${q('t')} = e.${q('b_type')} AND nb.${q('v')} = e.${q('b_value')}\n` +
    `GROUP BY na.${q('node_id')}, nb.${q('node_id')}`
  );
}

/** Components holding more values of a limited type than its limit. */
export function violatingSql(d: Dialect, cc: string, nodes: string, limited: IdentifierRule[]): string {
  const q = quoter(d);
  const limitOf = `CASE n.${q('t')} ${limited.map((r) => `WHEN ${d.literal(r.name)} THEN ${r.limit}`).join(' ')} END`;
  return (
    `SELECT DISTINCT ${q('component')} FROM (\n` +
    `  SELECT c.${q('component')} AS ${q('component')}, COUNT(*) AS ${q('n')}, MIN(${limitOf}) AS ${q('max_n')}\n` +
    `  FROM ${cc} AS c JOIN ${nodes} AS n ON n.${q('node_id')} = c.${q('node')}\n` +
    `  WHERE n.${q('t')} IN (${limited.map((r) => d.literal(r.name)).join(', ')})\n` +
    `  GROUP BY c.${q('component')}, n.${q('t')}) AS counts\n` +
    `WHERE ${q('n')} > ${q('max_n')}`
  );
}

/** The edges of violating components, with what the limit rule orders by. */
export function violatingEdgesSql(d: Dialect, pairs: string, cc: string, violating: string, nodes: string): string {
  const q = quoter(d);
  return (
    `SELECT c.${q('component')} AS ${q('component')}, p.${q('src')} AS ${q('src')}, p.${q('dst')} AS ${q('dst')},\n` +
    `  na.${q('t')} AS ${q('a_type')}, na.${q('v')} AS ${q('a_value')}, nb.${q('t')} AS ${q('b_type')}, nb.${q('v')} AS ${q('b_value')},\n` +
    `  p.${q('source_priority')} AS ${q('source_priority')}, p.${q('first_seen')} AS ${q('first_seen')}\n` +
    `FROM ${pairs} AS p\n` +
    `JOIN ${cc} AS c ON c.${q('node')} = p.${q('src')}\n` +
    `JOIN ${violating} AS x ON x.${q('component')} = c.${q('component')}\n` +
    `JOIN ${nodes} AS na ON na.${q('node_id')} = p.${q('src')}\n` +
    `JOIN ${nodes} AS nb ON nb.${q('node_id')} = p.${q('dst')}\n` +
    `ORDER BY c.${q('component')}`
  );
}

/**
 * Every node with its final cluster and keys: `component_key` / `cluster_key` are the
 * smallest `type:value` of the raw component / the cluster, names that survive renumbering.
 */
export function membersSql(d: Dialect, cc: string, limited: string, nodes: string): string {
  const q = quoter(d);
  const key = `n.${q('t')} || ':' || n.${q('v')}`;
  return (
    `SELECT COALESCE(l.${q('cluster')}, c.${q('component')}) AS ${q('cluster')}, n.${q('t')} AS ${q('t')}, n.${q('v')} AS ${q('v')},\n` +
    `  n.${q('first_seen')} AS ${q('first_seen')}, n.${q('last_seen')} AS ${q('last_seen')}, n.${q('sources')} AS ${q('sources')},\n` +
    `  MIN(${key}) OVER (PARTITION BY c.${q('component')}) AS ${q('component_key')},\n` +
    `  MIN(${key}) OVER (PARTITION BY COALESCE(l.${q('cluster')}, c.${q('component')})) AS ${q('cluster_key')}\n` +
    `FROM ${cc} AS c JOIN ${nodes} AS n ON n.${q('node_id')} = c.${q('node')}\n` +
    `LEFT JOIN ${limited} AS l ON l.${q('node')} = c.${q('node')}`
  );
}

export function qualifyAll(d: Dialect, refs: Record<string, TableRef>): Record<string, string> {
  return Object.fromEntries(Object.entries(refs).map(([k, v]) => [k, d.qualify(v)]));
}
