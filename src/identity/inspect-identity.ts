/**
 * Read-only views of a resolved identity graph, for `cdp identity explain` and `stats`:
 * one profile with every identifier, the edges that joined them (with the sources and when
 * they were seen), the edges and values that were rejected and why, and its merge/split
 * history; and graph-wide figures. Reads only output and state tables.
 */
import { CdpError, configError } from '../errors';
import type { Row, Warehouse } from '../warehouse';
import type { IdentityPlan } from './identity-plan';
import { identityTables } from './identity-tables';
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
  const edges = await warehouse.query(
    `SELECT e.${q('a_type')}, e.${q('a_value')}, e.${q('b_type')}, e.${q('b_value')}, e.${q('source')}, e.${q('first_seen')}, e.${q('last_seen')}\n` +
      `FROM ${d.qualify(T.edges)} AS e\n` +
      `JOIN ${d.qualify(T.registry)} AS ra ON ra.${q('identifier_type')} = e.${q('a_type')} AND ra.${q('identifier_value')} = e.${q('a_value')}\n` +
      `JOIN ${d.qualify(T.registry)} AS rb ON rb.${q('identifier_type')} = e.${q('b_type')} AND rb.${q('identifier_value')} = e.${q('b_value')}\n` +
      `WHERE ra.${q('profile_id')} = ${pid} AND rb.${q('profile_id')} = ${pid} AND NOT (e.${q('a_type')} = e.${q('b_type')} AND e.${q('a_value')} = e.${q('b_value')})\n` +
      `ORDER BY e.${q('first_seen')}, e.${q('a_type')}, e.${q('a_value')}, e.${q('b_type')}, e.${q('b_value')}, e.${q('source')}`,
  );
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
