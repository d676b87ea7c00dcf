/**
 * Stable profile ids. The registry remembers which profile every identifier belonged to;
 * a run maps its new clusters onto those profiles:
 *  - each old profile goes to the new cluster holding most of its identifiers (ties: the
 *    cluster with the smaller key) — so when a profile splits, the larger part keeps the id;
 *  - each cluster takes, among the old profiles that went to it, the oldest (created in
 *    the earliest run, then first seen, then id) — so when profiles merge, the older id
 *    survives; the others are logged as `merge`, parts that left a profile as `split`;
 *  - a cluster no old profile went to gets a new id: 'p_' + 16 hex of md5(cluster key),
 *    or of (cluster key, run) if that id was ever issued. Deterministic, so an incremental
 *    run and a full rebuild from the same registry issue the same ids.
 * An unchanged cluster is exactly its old profile, so it keeps its id across runs and
 * full rebuilds (the registry lives in the state schema and is never rebuilt from scratch).
 */
import type { Dialect } from '../warehouse';

export interface StableIdTables {
  members: string;
  registry: string;
  profileIds: string;
  /** Scratch outputs. */
  overlap: string;
  choice: string;
  assign: string;
}

/** (profile_id, cluster, shared): how many identifiers of each old profile each cluster holds. */
export function overlapSql(d: Dialect, t: StableIdTables): string {
  const q = (n: string) => d.quoteIdent(n);
  return (
    `SELECT r.${q('profile_id')} AS ${q('profile_id')}, m.${q('cluster')} AS ${q('cluster')}, MIN(m.${q('cluster_key')}) AS ${q('cluster_key')}, COUNT(*) AS ${q('shared')}\n` +
    `FROM ${t.members} AS m JOIN ${t.registry} AS r ON r.${q('identifier_type')} = m.${q('t')} AND r.${q('identifier_value')} = m.${q('v')}\n` +
    `GROUP BY r.${q('profile_id')}, m.${q('cluster')}`
  );
}

/** Each old profile's cluster (pick = 1) and its seniority among the profiles that chose the same cluster. */
export function choiceSql(d: Dialect, t: StableIdTables): string {
  const q = (n: string) => d.quoteIdent(n);
  const farFuture = d.cast(d.literal('9999-12-31 00:00:00'), 'timestamp');
  return (
    `SELECT ${q('profile_id')}, ${q('cluster')}, ${q('shared')},\n` +
    `  ROW_NUMBER() OVER (PARTITION BY ${q('cluster')} ORDER BY ${q('created_run')}, ${q('first_seen_key')}, ${q('profile_id')}) AS ${q('seniority')}\n` +
    `FROM (SELECT o.${q('profile_id')} AS ${q('profile_id')}, o.${q('cluster')} AS ${q('cluster')}, o.${q('shared')} AS ${q('shared')},\n` +
    `    COALESCE(p.${q('created_run')}, 0) AS ${q('created_run')}, COALESCE(p.${q('first_seen')}, ${farFuture}) AS ${q('first_seen_key')},\n` +
    `    ROW_NUMBER() OVER (PARTITION BY o.${q('profile_id')} ORDER BY o.${q('shared')} DESC, o.${q('cluster_key')}) AS ${q('pick')}\n` +
    `  FROM ${t.overlap} AS o LEFT JOIN ${t.profileIds} AS p ON p.${q('profile_id')} = o.${q('profile_id')}) AS picks\n` +
    `WHERE ${q('pick')} = 1`
  );
}

/** (cluster, cluster_key, first_seen, profile_id, is_new) for every cluster. */
export function assignSql(d: Dialect, t: StableIdTables, run: number): string {
  const q = (n: string) => d.quoteIdent(n);
  const candidate = (parts: string[]) => `'p_' || SUBSTR(${d.hash(parts)}, 1, 16)`;
  const first = candidate([`k.${q('cluster_key')}`]);
  const second = candidate([`k.${q('cluster_key')}`, d.literal(String(run))]);
  return (
    `SELECT k.${q('cluster')} AS ${q('cluster')}, k.${q('cluster_key')} AS ${q('cluster_key')}, k.${q('first_seen')} AS ${q('first_seen')},\n` +
    `  COALESCE(c.${q('profile_id')}, CASE WHEN used.${q('profile_id')} IS NULL THEN ${first} ELSE ${second} END) AS ${q('profile_id')},\n` +
    `  CASE WHEN c.${q('profile_id')} IS NULL THEN 1 ELSE 0 END AS ${q('is_new')}\n` +
    `FROM (SELECT ${q('cluster')}, MIN(${q('cluster_key')}) AS ${q('cluster_key')}, MIN(${q('first_seen')}) AS ${q('first_seen')} FROM ${t.members} GROUP BY ${q('cluster')}) AS k\n` +
    `LEFT JOIN ${t.choice} AS c ON c.${q('cluster')} = k.${q('cluster')} AND c.${q('seniority')} = 1\n` +
    `LEFT JOIN ${t.profileIds} AS used ON used.${q('profile_id')} = ${first}`
  );
}

/** Merge and split events of this run, for identity_merges. */
export function eventsSql(d: Dialect, t: StableIdTables, run: number, at: string): string {
  const q = (n: string) => d.quoteIdent(n);
  return (
    `SELECT ${run} AS ${q('run')}, ${at} AS ${q('merged_at')}, CASE WHEN c.${q('profile_id')} IS NOT NULL THEN 'merge' ELSE 'split' END AS ${q('kind')},\n` +
    `  o.${q('profile_id')} AS ${q('from_profile_id')}, a.${q('profile_id')} AS ${q('to_profile_id')}, o.${q('shared')} AS ${q('identifiers')}\n` +
    `FROM ${t.overlap} AS o\n` +
    `JOIN ${t.assign} AS a ON a.${q('cluster')} = o.${q('cluster')}\n` +
    `LEFT JOIN ${t.choice} AS c ON c.${q('profile_id')} = o.${q('profile_id')} AND c.${q('cluster')} = o.${q('cluster')}\n` +
    `WHERE o.${q('profile_id')} <> a.${q('profile_id')}`
  );
}

/** The registry rows of this run's members. */
export function registryRowsSql(d: Dialect, t: StableIdTables): string {
  const q = (n: string) => d.quoteIdent(n);
  return (
    `SELECT m.${q('t')} AS ${q('identifier_type')}, m.${q('v')} AS ${q('identifier_value')}, a.${q('profile_id')} AS ${q('profile_id')},\n` +
    `  m.${q('component_key')} AS ${q('component_key')}, m.${q('first_seen')} AS ${q('first_seen')}, m.${q('last_seen')} AS ${q('last_seen')}, m.${q('sources')} AS ${q('sources')}\n` +
    `FROM ${t.members} AS m JOIN ${t.assign} AS a ON a.${q('cluster')} = m.${q('cluster')}`
  );
}
