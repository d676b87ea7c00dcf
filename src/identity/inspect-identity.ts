/**
 * Read-only views of a resolved identity graph, for `cdp identity explain` and `stats`:
 * one profile with every identifier, the edges that joined them (with the sources and when
 * they were seen), the edges and values that were rejected and why, and its merge/split
 * history; and graph-wide figures. Reads only output and state tables.
 * `mergePathOf` is the part of explain the API's profile lookup shows (edges, the path from
 * the looked-up identifier, limit rejections, merge history) in one statement.
 */
import { z } from 'zod';
import { CdpError, configError } from '../errors';
import type { Dialect, Row, Warehouse } from '../warehouse';
import type { IdentityPlan } from './identity-plan';
import { identityTables, type IdentityTables } from './identity-tables';
import { normalizeIdentifier } from './normalize-value';
import { tableExists } from './sql-kit';

export interface ExplainResult {
  lookup: { type: string; input: string; value: string };
  profile: Row;
  identifiers: Row[];
  edges: Row[];
  rejected: Row[];
  history: Row[];
  memberships: Row[];
}

const EDGE_LIMIT = 200;

export function parseLookup(plan: IdentityPlan, text: string): { type: string; input: string; value: string } {
  const colon = text.indexOf(':');
  const names = plan.rules.map((r) => r.name).join(', ');
  if (colon <= 0) throw configError('explain', `'${text}' is not type:value`, `write e.g. email:ann@example.com (types: ${names})`);
  const type = text.slice(0, colon);
  const input = text.slice(colon + 1);
  const rule = plan.rules.find((r) => r.name === type);
  if (!rule) throw configError('explain', `unknown identifier type '${type}'`, `use one of ${names}`);
  const normalized = normalizeIdentifier(rule, input);
  if (normalized.status === 'absent' || normalized.status === 'invalid') {
    throw configError('explain', `'${input}' is not a valid ${type}`, rule.kind === 'phone' ? 'write the number with its country code, e.g. +14155550134' : 'check the value');
  }
  return { type, input, value: normalized.value };
}

async function assertResolved(warehouse: Warehouse, plan: IdentityPlan): Promise<void> {
  if (!(await tableExists(warehouse, identityTables(plan).graph))) {
    throw new CdpError('the identity graph has not been built yet', { code: 'IDENTITY', kind: 'runtime', where: 'identity', hint: 'run `cdp identity run` first' });
  }
}

/** Order of a profile's edges: oldest first, then by endpoints — the order they joined the profile in. */
const EDGE_ORDER = (q: (n: string) => string) => ['first_seen', 'a_type', 'a_value', 'b_type', 'b_value', 'source'].map((c) => `e.${q(c)}`).join(', ');

/** The stored edges with both ends in profile `pid` (a SQL literal), self-edges left out. */
function profileEdgesSql(d: Dialect, T: IdentityTables, pid: string): string {
  const q = (n: string) => d.quoteIdent(n);
  return (
    `SELECT e.${q('a_type')}, e.${q('a_value')}, e.${q('b_type')}, e.${q('b_value')}, e.${q('source')}, e.${q('first_seen')}, e.${q('last_seen')}\n` +
    `FROM ${d.qualify(T.edges)} AS e\n` +
    `JOIN ${d.qualify(T.registry)} AS ra ON ra.${q('identifier_type')} = e.${q('a_type')} AND ra.${q('identifier_value')} = e.${q('a_value')}\n` +
    `JOIN ${d.qualify(T.registry)} AS rb ON rb.${q('identifier_type')} = e.${q('b_type')} AND rb.${q('identifier_value')} = e.${q('b_value')}\n` +
    `WHERE ra.${q('profile_id')} = ${pid} AND rb.${q('profile_id')} = ${pid} AND NOT (e.${q('a_type')} = e.${q('b_type')} AND e.${q('a_value')} = e.${q('b_value')})`
  );
}

export async function explainIdentifier(warehouse: Warehouse, plan: IdentityPlan, lookupText: string): Promise<ExplainResult> {
  const lookup = parseLookup(plan, lookupText);
  await assertResolved(warehouse, plan);
  const d = warehouse.dialect;
  const q = (n: string) => d.quoteIdent(n);
  const T = identityTables(plan);
  const [hit] = await warehouse.query(
    `SELECT ${q('profile_id')} FROM ${d.qualify(T.graph)} WHERE ${q('identifier_type')} = ${d.literal(lookup.type)} AND ${q('identifier_value')} = ${d.literal(lookup.value)}`,
  );
  if (!hit) {
    const [rejected] = await warehouse.query(
      `SELECT ${q('reason')} FROM ${d.qualify(T.rejections)} WHERE ${q('identifier_type')} = ${d.literal(lookup.type)} AND ${q('identifier_value')} = ${d.literal(lookup.value)} AND ${q('kind')} <> 'limit'`,
    );
    const why = rejected ? ` (${rejected.reason})` : '';
    throw new CdpError(`${lookup.type}:${lookup.value} is in no profile${why}`, { code: 'NOT_FOUND', kind: 'runtime', where: 'identity explain', hint: rejected ? 'blocked and invalid values never join a profile' : 'check the value, or run `cdp identity run` after new data lands' });
  }
  const profileId = String(hit.profile_id);
  const pid = d.literal(profileId);
  const [profile] = await warehouse.query(`SELECT * FROM ${d.qualify(T.profiles)} WHERE ${q('profile_id')} = ${pid}`);
  const identifiers = await warehouse.query(
    `SELECT ${q('identifier_type')}, ${q('identifier_value')}, ${q('first_seen')}, ${q('last_seen')}, ${q('sources')} FROM ${d.qualify(T.graph)} WHERE ${q('profile_id')} = ${pid} ORDER BY ${q('first_seen')}, ${q('identifier_type')}, ${q('identifier_value')}`,
  );
  const edges = await warehouse.query(`${profileEdgesSql(d, T, pid)}\nORDER BY ${EDGE_ORDER(q)}`);
  const rejected = await warehouse.query(
    `SELECT ${q('kind')}, ${q('reason')}, ${q('identifier_type')}, ${q('identifier_value')}, ${q('other_type')}, ${q('other_value')}, ${q('sources')}, ${q('profile_id')}, ${q('other_profile_id')}, ${q('first_seen')}\n` +
      `FROM ${d.qualify(T.rejections)} WHERE ${q('profile_id')} = ${pid} OR ${q('other_profile_id')} = ${pid} ORDER BY ${q('first_seen')}, ${q('identifier_value')}, ${q('other_value')}`,
  );
  const history = await warehouse.query(
    `SELECT ${q('run')}, ${q('merged_at')}, ${q('kind')}, ${q('from_profile_id')}, ${q('to_profile_id')}, ${q('identifiers')} FROM ${d.qualify(T.merges)} ` +
      `WHERE ${q('from_profile_id')} = ${pid} OR ${q('to_profile_id')} = ${pid} ORDER BY ${q('run')}, ${q('from_profile_id')}`,
  );
  const memberships =
    plan.memberships && (await tableExists(warehouse, T.memberships))
      ? await warehouse.query(`SELECT ${q('account_id')}, ${q('valid_from')}, ${q('valid_to')}, ${q('is_current')} FROM ${d.qualify(T.memberships)} WHERE ${q('profile_id')} = ${pid} ORDER BY ${q('valid_from')}`)
      : [];
  return { lookup, profile: profile ?? { profile_id: profileId }, identifiers, edges: edges.slice(0, EDGE_LIMIT), rejected, history, memberships };
}

export interface IdentityStats {
  profiles: number;
  identifiers: number;
  byType: { identifier_type: string; identifiers: number; profiles: number }[];
  perProfile: { bucket: string; profiles: number }[];
  largest: { profile_id: string; identifier_count: number; identifiers: string }[];
  rejections: { kind: string; reason: string; values: number; occurrences: number }[];
  history: { merges: number; splits: number };
  lastRun?: { run: number; mode: string; started_at: Date | null };
}

export async function identityStats(warehouse: Warehouse, plan: IdentityPlan, options: { top?: number } = {}): Promise<IdentityStats> {
  await assertResolved(warehouse, plan);
  const d = warehouse.dialect;
  const q = (n: string) => d.quoteIdent(n);
  const T = identityTables(plan);
  const [totals] = await warehouse.query(`SELECT COUNT(*) AS ${q('identifiers')}, COUNT(DISTINCT ${q('profile_id')}) AS ${q('profiles')} FROM ${d.qualify(T.graph)}`);
  const byType = await warehouse.query(
    `SELECT ${q('identifier_type')}, COUNT(*) AS ${q('identifiers')}, COUNT(DISTINCT ${q('profile_id')}) AS ${q('profiles')} FROM ${d.qualify(T.graph)} GROUP BY ${q('identifier_type')} ORDER BY ${q('identifiers')} DESC, ${q('identifier_type')}`,
  );
  const bucket = `CASE WHEN ${q('identifier_count')} = 1 THEN '1' WHEN ${q('identifier_count')} = 2 THEN '2' WHEN ${q('identifier_count')} <= 5 THEN '3-5' WHEN ${q('identifier_count')} <= 10 THEN '6-10' ELSE '11+' END`;
  const perProfile = await warehouse.query(
    `SELECT ${q('bucket')}, COUNT(*) AS ${q('profiles')} FROM (SELECT ${bucket} AS ${q('bucket')}, ${q('identifier_count')} FROM ${d.qualify(T.profiles)}) AS b GROUP BY ${q('bucket')} ORDER BY MIN(${q('identifier_count')})`,
  );
  const largest = await warehouse.query(
    `SELECT ${q('profile_id')}, ${q('identifier_count')}, ${q('identifiers')} FROM ${d.qualify(T.profiles)} ORDER BY ${q('identifier_count')} DESC, ${q('profile_id')} LIMIT ${options.top ?? 5}`,
  );
  const rejections = await warehouse.query(
    `SELECT ${q('kind')}, ${q('reason')}, COUNT(*) AS ${q('values')}, SUM(${q('occurrences')}) AS ${q('occurrences')} FROM ${d.qualify(T.rejections)} GROUP BY ${q('kind')}, ${q('reason')} ORDER BY COUNT(*) DESC, ${q('kind')}, ${q('reason')}`,
  );
  const [history] = await warehouse.query(
    `SELECT SUM(CASE WHEN ${q('kind')} = 'merge' THEN 1 ELSE 0 END) AS ${q('merges')}, SUM(CASE WHEN ${q('kind')} = 'split' THEN 1 ELSE 0 END) AS ${q('splits')} FROM ${d.qualify(T.merges)}`,
  );
  const [lastRun] = await warehouse.query(`SELECT ${q('run')}, ${q('mode')}, ${q('started_at')} FROM ${d.qualify(T.runs)} ORDER BY ${q('run')} DESC LIMIT 1`);
  return {
    profiles: Number(totals?.profiles ?? 0),
    identifiers: Number(totals?.identifiers ?? 0),
    byType: byType.map((r) => ({ identifier_type: String(r.identifier_type), identifiers: Number(r.identifiers), profiles: Number(r.profiles) })),
    perProfile: perProfile.map((r) => ({ bucket: String(r.bucket), profiles: Number(r.profiles) })),
    largest: largest.map((r) => ({ profile_id: String(r.profile_id), identifier_count: Number(r.identifier_count), identifiers: String(r.identifiers) })),
    rejections: rejections.map((r) => ({ kind: String(r.kind), reason: String(r.reason), values: Number(r.values), occurrences: Number(r.occurrences) })),
    history: { merges: Number(history?.merges ?? 0), splits: Number(history?.splits ?? 0) },
    lastRun: lastRun ? { run: Number(lastRun.run), mode: String(lastRun.mode), started_at: lastRun.started_at instanceof Date ? lastRun.started_at : null } : undefined,
  };
}

const identifierSchema = z.object({ type: z.string(), value: z.string() });

/**
 * The merge path's one definition, over how an instant is held: `Date` here (what
 * `mergePathOf` returns), ISO text on the wire (the API's response schema). Types are
 * inferred from these schemas; nothing is written twice.
 */
function mergePathSchemaOf<T extends z.ZodType>(instant: T) {
  const at = instant.nullable();
  const step = z.object({
    identifier: identifierSchema.describe('the identifier this step brought into the profile'),
    joined_via: identifierSchema.describe('the identifier it shared a source row with, already in the path (the first step: the looked-up one)'),
    source: z.string(),
    rule: z.string().describe('why they were joined, in words'),
    first_seen: at,
  });
  return z.object({
    edges: z
      .array(z.object({ a_type: z.string(), a_value: z.string(), b_type: z.string(), b_value: z.string(), source: z.string(), first_seen: at, last_seen: at }))
      .describe('stored edges with both ends in the profile, oldest first (at most 200): the two identifiers appeared in one row of the source'),
    steps: z.array(step).describe('from the looked-up identifier outwards: how each other identifier joined, by the earliest edge that reaches it'),
    rejected: z
      .array(z.object({ reason: z.string(), identifier: identifierSchema, other: identifierSchema, sources: z.string(), profile_id: z.string().nullable(), other_profile_id: z.string().nullable(), first_seen: at }))
      .describe('edges a limit refused: the values were kept in separate profiles'),
    history: z
      .array(z.object({ run: z.number(), kind: z.string(), from_profile_id: z.string(), to_profile_id: z.string(), merged_at: at, identifiers: z.number() }))
      .describe('merges and splits over identity runs involving this profile'),
    truncated: z.boolean().describe('more edges than listed'),
  });
}

/** What `mergePathOf` returns (instants as Date). */
export const mergePathSchema = mergePathSchemaOf(z.date());
/** The same on the wire (instants as ISO text): the profile lookup's `merge_path`. */
export const mergePathJsonSchema = mergePathSchemaOf(z.string());
export type MergePath = z.infer<typeof mergePathSchema>;
export type MergeStep = MergePath['steps'][number];

const PART = '__cdp_part';

/**
 * One statement: the profile's edges (limited), its limit rejections and its merge history
 * as one UNION ALL with a part column — identity's state and output tables, read only.
 */
export function mergePathSql(d: Dialect, T: IdentityTables, profileId: string): string {
  const q = (n: string) => d.quoteIdent(n);
  const pid = d.literal(profileId);
  const cols = ['a_type', 'a_value', 'b_type', 'b_value', 'source', 'detail', 'first_seen', 'last_seen', 'run', 'n', 'p1', 'p2'] as const;
  const types: Record<(typeof cols)[number], 'string' | 'timestamp' | 'integer'> = { a_type: 'string', a_value: 'string', b_type: 'string', b_value: 'string', source: 'string', detail: 'string', first_seen: 'timestamp', last_seen: 'timestamp', run: 'integer', n: 'integer', p1: 'string', p2: 'string' };
  /** A SELECT list in the shared column order; missing columns are typed NULLs. */
  const select = (part: string, given: Partial<Record<(typeof cols)[number], string>>) =>
    `SELECT ${d.literal(part)} AS ${q(PART)}, ${cols.map((c) => `${given[c] !== undefined ? d.cast(given[c]!, types[c]) : d.cast('NULL', types[c])} AS ${q(c)}`).join(', ')}`;
  const edges =
    `SELECT * FROM (\n${select('edge', { a_type: `e.${q('a_type')}`, a_value: `e.${q('a_value')}`, b_type: `e.${q('b_type')}`, b_value: `e.${q('b_value')}`, source: `e.${q('source')}`, first_seen: `e.${q('first_seen')}`, last_seen: `e.${q('last_seen')}` })}\n` +
    `FROM (${profileEdgesSql(d, T, pid)}) AS e\nORDER BY ${EDGE_ORDER(q)}\nLIMIT ${EDGE_LIMIT + 1}\n) AS edges`;
  const rejected =
    `${select('rejected', { a_type: q('identifier_type'), a_value: q('identifier_value'), b_type: q('other_type'), b_value: q('other_value'), source: q('sources'), detail: q('reason'), first_seen: q('first_seen'), p1: q('profile_id'), p2: q('other_profile_id') })}\n` +
    `FROM ${d.qualify(T.rejections)} WHERE ${q('kind')} = 'limit' AND (${q('profile_id')} = ${pid} OR ${q('other_profile_id')} = ${pid})`;
  const history =
    `${select('history', { detail: q('kind'), first_seen: q('merged_at'), run: q('run'), n: q('identifiers'), p1: q('from_profile_id'), p2: q('to_profile_id') })}\n` +
    `FROM ${d.qualify(T.merges)} WHERE ${q('from_profile_id')} = ${pid} OR ${q('to_profile_id')} = ${pid}`;
  return [edges, rejected, history].join('\nUNION ALL\n');
}

/** The merge path of `profileId` as seen from `lookup` (one query; see mergePathSql). */
export async function mergePathOf(warehouse: Warehouse, plan: IdentityPlan, profileId: string, lookup: { type: string; value: string }): Promise<MergePath> {
  const rows = await warehouse.query(mergePathSql(warehouse.dialect, identityTables(plan), profileId));
  const str = (v: unknown) => (v === null || v === undefined ? '' : String(v));
  const date = (v: unknown) => (v instanceof Date ? v : v === null || v === undefined ? null : new Date(String(v)));
  const edgeRows = rows.filter((r) => r[PART] === 'edge');
  const order = (a: Row, b: Row) => (date(a.first_seen)?.getTime() ?? Infinity) - (date(b.first_seen)?.getTime() ?? Infinity);
  const edges = edgeRows
    .slice(0, EDGE_LIMIT)
    .map((r) => ({ a_type: str(r.a_type), a_value: str(r.a_value), b_type: str(r.b_type), b_value: str(r.b_value), source: str(r.source), first_seen: date(r.first_seen), last_seen: date(r.last_seen) }));
  return {
    edges,
    steps: pathFrom(lookup, edges),
    rejected: rows
      .filter((r) => r[PART] === 'rejected')
      .sort(order)
      .map((r) => ({
        reason: str(r.detail),
        identifier: { type: str(r.a_type), value: str(r.a_value) },
        other: { type: str(r.b_type), value: str(r.b_value) },
        sources: str(r.source),
        profile_id: r.p1 === null || r.p1 === undefined ? null : String(r.p1),
        other_profile_id: r.p2 === null || r.p2 === undefined ? null : String(r.p2),
        first_seen: date(r.first_seen),
      })),
    history: rows
      .filter((r) => r[PART] === 'history')
      .map((r) => ({ run: Number(r.run), kind: str(r.detail), from_profile_id: str(r.p1), to_profile_id: str(r.p2), merged_at: date(r.first_seen), identifiers: Number(r.n ?? 0) }))
      .sort((a, b) => a.run - b.run || a.from_profile_id.localeCompare(b.from_profile_id)),
    truncated: edgeRows.length > EDGE_LIMIT,
  };
}

/**
 * Grows the path from the looked-up identifier: edges are taken oldest first, and an edge
 * with exactly one end already in the path brings the other end in, through the shared one.
 */
function pathFrom(start: { type: string; value: string }, edges: MergePath['edges']): MergeStep[] {
  const key = (type: string, value: string) => `${type}\0${value}`;
  const reached = new Set([key(start.type, start.value)]);
  const steps: MergeStep[] = [];
  let grew = true;
  while (grew) {
    grew = false;
    for (const e of edges) {
      const a = reached.has(key(e.a_type, e.a_value));
      const b = reached.has(key(e.b_type, e.b_value));
      if (a === b) continue;
      const [via, next] = a ? [{ type: e.a_type, value: e.a_value }, { type: e.b_type, value: e.b_value }] : [{ type: e.b_type, value: e.b_value }, { type: e.a_type, value: e.a_value }];
      reached.add(key(next.type, next.value));
      steps.push({ identifier: next, joined_via: via, source: e.source, rule: `${via.type} and ${next.type} were in one row of source ${e.source}`, first_seen: e.first_seen });
      grew = true;
      break; // again from the oldest edge: the path follows the order the profile grew in
    }
  }
  return steps;
}
