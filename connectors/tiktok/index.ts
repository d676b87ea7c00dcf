/**
 * The TikTok Custom Audiences destination (issue 9): members of an audience through
 * `POST /segment/mapping/` with action add/delete, an `id_schema` (EMAIL_SHA256,
 * PHONE_SHA256, IDFA_SHA256, AAID_SHA256) and one inner array per user in `batch_data`.
 *
 * Invariants: email — whitespace removed, lowercased — and phone (E.164) are sent only as
 * SHA-256 hex; HTTP 200 with a non-zero `code` is a failure (TikTok's documented signal),
 * classified by code (40100 rate limit, 40001/40105 auth, 5xxxx transient); one outcome per
 * row, in order; rows without a usable id are `rejected` before sending; `ok.externalId`
 * is a member token (hashes as sent), so removals send the same ids.
 */
import { z } from 'zod';
import { ConnectorError, defineDestination, isSha256Hex, normalizePhoneE164, objectOptions, ok, phoneDefaultCountryOption, parseResponse, rejected, secret, sha256Hex, throwForStatus, type Batch, type ConnectorContext, type FieldValue, type RowOutcome } from '../kit';
import { AdBatchReporter, type AdBatchReport } from '../kit/match-rate';
import { decodeMemberToken, encodeMemberToken } from '../kit/audience-member-token';

const DESTINATION = 'tiktok';
const TOKEN = 'tt';
/** Not published by TikTok; Tealium batches 1,000 records. */
export const TIKTOK_BATCH = 1_000;
export const TIKTOK_SCHEMA = ['EMAIL_SHA256', 'PHONE_SHA256', 'IDFA_SHA256', 'AAID_SHA256'] as const;
type SchemaKey = (typeof TIKTOK_SCHEMA)[number];

export const tiktokConfigSchema = z.object({
  accessToken: secret(),
  advertiserId: z.string().regex(/^\d+$/),
  baseUrl: z.string().url().default('https://business-api.tiktok.com/open_api/v1.3'),
});
type Ctx = ConnectorContext<z.output<typeof tiktokConfigSchema>>;
const optionsSchema = z.strictObject({ audienceId: z.string().regex(/^\d+$/, 'audienceId is the numeric audience id'), defaultCountryCode: phoneDefaultCountryOption.optional() });
const OPTIONS = objectOptions(DESTINATION, { audience_members: optionsSchema }, { unsupported: 'use mode add_remove' });

const hashOf = (v: string, normalise: (x: string) => string | null) => {
  const t = v.trim().toLowerCase();
  if (isSha256Hex(t)) return t;
  const n = normalise(v);
  return n === null ? null : sha256Hex(n);
};
/** Email: all whitespace removed, lowercased (TikTok implementations' rule), then SHA-256. */
export const tiktokEmailHash = (v: string) => hashOf(v, (x) => {
  const e = x.replace(/\s+/g, '').toLowerCase();
  return /^[^@]+@[^@]+\.[^@]+$/.test(e) ? e : null;
});
const text = (v: FieldValue | undefined) => (v === null || v === undefined || typeof v === 'object' ? undefined : String(v).trim() || undefined);

export function tiktokIds(fields: Record<string, FieldValue>, defaultCountryCode?: string): Partial<Record<SchemaKey, string>> {
  const ids: Partial<Record<SchemaKey, string>> = {};
  const email = text(fields.email);
  const phone = text(fields.phone);
  const idfa = text(fields.idfa);
  const aaid = text(fields.aaid);
  const e = email && tiktokEmailHash(email);
  if (e) ids.EMAIL_SHA256 = e;
  const p = phone && hashOf(phone, (x) => normalizePhoneE164(x, defaultCountryCode));
  if (p) ids.PHONE_SHA256 = p;
  if (idfa) ids.IDFA_SHA256 = hashOf(idfa, (x) => x.trim().toLowerCase())!;
  if (aaid) ids.AAID_SHA256 = hashOf(aaid, (x) => x.trim().toLowerCase())!;
  return ids;
}

const responseSchema = z.object({ code: z.number(), message: z.string(), request_id: z.string().optional(), data: z.unknown().optional() });

function codeError(code: number, message: string, what: string): ConnectorError {
  if (code === 40100 || code === 40133) return new ConnectorError(DESTINATION, 'rate_limited', `${what}: TikTok rate limit (code ${code}: ${message})`, { retryAfterMs: 1_000, hint: 'the engine waits' });
  if ([40001, 40102, 40104, 40105].includes(code)) return new ConnectorError(DESTINATION, 'auth', `${what}: TikTok refused the access token (code ${code}: ${message})`, { hint: 'generate a new long-term access token with Audience Management permission' });
  if (code >= 50000) return new ConnectorError(DESTINATION, 'transient', `${what}: TikTok had a problem (code ${code}: ${message})`, { hint: 'the engine retries' });
  return new ConnectorError(DESTINATION, 'permanent', `${what}: TikTok refused the request (code ${code}: ${message})`, { hint: 'the engine splits the batch' });
}

export async function writeTiktokBatch(ctx: Ctx, batch: Batch): Promise<{ outcomes: RowOutcome[]; report: AdBatchReport }> {
  if (batch.object !== 'audience_members') throw OPTIONS.unknownObject(batch);
  if (batch.op !== 'add' && batch.op !== 'remove') throw OPTIONS.unsupported(batch);
  const options = OPTIONS.parse('audience_members', batch);
  const reporter = new AdBatchReporter(batch.rows.length);
  const outcomes: RowOutcome[] = new Array(batch.rows.length);
  const members: Array<{ index: number; ids: Partial<Record<SchemaKey, string>> }> = [];
  batch.rows.forEach((row, index) => {
    const remembered = batch.op === 'remove' ? decodeMemberToken(TOKEN, row.externalId) : undefined;
    const ids = (remembered as Partial<Record<SchemaKey, string>> | undefined) ?? tiktokIds(row.fields, options.defaultCountryCode);
    reporter.identifiers(index, Object.keys(ids).map((k) => k.replace('_SHA256', '').toLowerCase()));
    if (Object.keys(ids).length === 0) outcomes[index] = rejected('TikTok: no usable email, phone, IDFA or AAID');
    else members.push({ index, ids });
  });
  for (let i = 0; i < members.length; i += TIKTOK_BATCH) {
    const chunk = members.slice(i, i + TIKTOK_BATCH);
    const schema = TIKTOK_SCHEMA.filter((k) => chunk.some((m) => m.ids[k] !== undefined));
    const what = `${batch.op} ${chunk.length} members of audience ${options.audienceId}`;
    const response = await ctx.http({
      method: 'POST',
      path: '/segment/mapping/',
      headers: { 'access-token': ctx.config.accessToken },
      body: {
        advertiser_ids: [ctx.config.advertiserId],
        action: batch.op === 'add' ? 'add' : 'delete',
        id_schema: schema,
        batch_data: chunk.map((m) => schema.map((k) => ({ id: m.ids[k] ?? '', audience_ids: [options.audienceId] }))),
      },
    });
    throwForStatus(DESTINATION, response, what);
    const parsed = parseResponse(DESTINATION, responseSchema, response, what);
    if (parsed.code !== 0) throw codeError(parsed.code, parsed.message, what);
    for (const m of chunk) outcomes[m.index] = ok(encodeMemberToken(TOKEN, m.ids as Record<string, string>));
    reporter.sent(chunk.map((m) => m.index));
  }
  return { outcomes, report: reporter.finish(outcomes) };
}

export default defineDestination({
  type: 'tiktok',
  title: 'TikTok Custom Audiences',
  category: 'ads',
  config: tiktokConfigSchema,
  objects: { audience_members: { key: 'id', modes: ['add_remove'], requiredOptions: ['audienceId'], description: 'Members of a customer-file audience. Fields: email, phone, idfa, aaid.' } },
  limits: { batchRows: TIKTOK_BATCH, concurrency: 2 },
  async check(ctx) {
    const response = await ctx.http({ method: 'GET', path: '/advertiser/info/', query: { advertiser_ids: JSON.stringify([ctx.config.advertiserId]) }, headers: { 'access-token': ctx.config.accessToken } });
    throwForStatus(DESTINATION, response, 'check access');
    const parsed = parseResponse(DESTINATION, responseSchema, response, 'check access');
    if (parsed.code !== 0) throw codeError(parsed.code, parsed.message, 'check access');
  },
  async write(ctx, batch) {
    const { outcomes, report } = await writeTiktokBatch(ctx, batch);
    ctx.report?.(report);
    return outcomes;
  },
});
