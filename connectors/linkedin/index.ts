/**
 * The LinkedIn Matched Audiences destination (issue 9): DMP segment users (people) and
 * companies (B2B accounts), added and removed with `POST /rest/dmpSegments/{id}/users|companies`
 * (BATCH_CREATE, elements with action ADD/REMOVE) and the versioned headers
 * (`LinkedIn-Version`, `X-Restli-Protocol-Version: 2.0.0`, `X-RestLi-Method: BATCH_CREATE`).
 *
 * Invariants: emails go only as SHA256_EMAIL of the address with all whitespace removed and
 * lowercased (GOOGLE_AID in clear, as LinkedIn wants); one outcome per row, in order — rows
 * without a usable id are `rejected` before sending, per-element statuses ≥400 in the batch
 * answer `rejected` (or `retry` for 429/5xx), the rest `ok`; `ok.externalId` is a member
 * token (ids as sent), so removals send the same ids;
 *  - the segment comes from option segmentId, or is found by option segmentName in the
 *    configured ad account and created when missing (once per process; the first write then
 *    waits `segmentReadyWaitMs`, LinkedIn's documented 5 s, before adding members);
 *  - the match-rate report counts each row once (`AdBatchReporter`: rows answered `retry`
 *    are counted by the attempt that settles them).
 */
import { z } from 'zod';
import { ConnectorError, defineDestination, isSha256Hex, objectOptions, ok, parseResponse, pause, readRateLimitHeaders, rejected, retry, secret, sha256Hex, throwForStatus, type Batch, type ConnectorContext, type FieldValue, type HttpResponse, type RowOutcome } from '../kit';
import { AdBatchReporter, type AdBatchReport } from '../kit/match-rate';
import { decodeMemberToken, encodeMemberToken } from '../kit/audience-member-token';

const DESTINATION = 'linkedin';
const TOKEN = 'li';
/** RudderStack's default; LinkedIn publishes no per-request maximum. */
export const LINKEDIN_BATCH = 5_000;

export const linkedinConfigSchema = z.object({
  /** OAuth token of a member with rw_dmp_segments (approved partners only). */
  accessToken: secret(),
  /** LinkedIn-Version header, YYYYMM. */
  version: z.string().regex(/^\d{6}$/).default('202603'),
  baseUrl: z.string().url().default('https://api.linkedin.com/rest'),
  /** Wait after a 429 without Retry-After (LinkedIn's limit window is one minute). */
  rateLimitWaitMs: z.number().int().nonnegative().default(60_000),
  /** The sponsored ad account (digits) in which segments are found or created by name. */
  adAccountId: z.string().regex(/^\d+$/, 'adAccountId is the numeric sponsored account id').optional(),
  /** Wait after creating a segment before adding to it (LinkedIn documents 5 s). */
  segmentReadyWaitMs: z.number().int().nonnegative().default(5_000),
});
type Ctx = ConnectorContext<z.output<typeof linkedinConfigSchema>>;

const segmentOptionsSchema = z
  .strictObject({
    segmentId: z.string().regex(/^\d+$/, 'segmentId is the numeric DMP segment id').optional(),
    /** Find (or create) the segment by name in config.adAccountId. */
    segmentName: z.string().min(1).max(255).optional(),
  })
  .refine((o) => (o.segmentId === undefined) !== (o.segmentName === undefined), { message: 'give segmentId, or segmentName to find or create the segment' });
const OPTIONS = objectOptions(DESTINATION, { segment_users: segmentOptionsSchema, segment_companies: segmentOptionsSchema }, { unsupported: 'objects segment_users / segment_companies take mode add_remove' });

const segmentListSchema = z.object({
  elements: z.array(z.object({ id: z.union([z.number(), z.string()]), name: z.string(), type: z.string().optional() })),
  paging: z.object({ start: z.number(), count: z.number(), total: z.number().optional() }).optional(),
});

const headersFor = (ctx: Ctx, method?: string): Record<string, string> => ({
  authorization: `Bearer ${ctx.config.accessToken}`,
  'linkedin-version': ctx.config.version,
  'x-restli-protocol-version': '2.0.0',
  ...(method ? { 'x-restli-method': method } : {}),
});

/** One lookup/creation per (account, kind, name) per process: batches may run concurrently. */
const segmentIds = new Map<string, Promise<string>>();

async function resolveSegment(ctx: Ctx, object: 'users' | 'companies', options: z.output<typeof segmentOptionsSchema>): Promise<string> {
  if (options.segmentId) return options.segmentId;
  const account = ctx.config.adAccountId;
  if (!account) throw new ConnectorError(DESTINATION, 'config', 'option segmentName needs adAccountId in the destination config', { hint: 'set adAccountId (the sponsored account id) or give segmentId instead' });
  const key = `${ctx.config.baseUrl}|${account}|${object}|${options.segmentName!}`;
  let pending = segmentIds.get(key);
  if (!pending) {
    pending = findOrCreateSegment(ctx, `urn:li:sponsoredAccount:${account}`, object, options.segmentName!);
    segmentIds.set(key, pending);
    // A failed lookup must not stick: the next batch tries again.
    pending.catch(() => segmentIds.delete(key));
  }
  return pending;
}

/**
 * The account's DMP segment with this name and kind, created (streaming, destination
 * LinkedIn) when there is none. Create answers 201 with the new id in `x-restli-id`.
 */
async function findOrCreateSegment(ctx: Ctx, account: string, object: 'users' | 'companies', name: string): Promise<string> {
  const type = object === 'users' ? 'USER_STREAMING' : 'COMPANY_STREAMING';
  const what = `find DMP segment "${name}" in ${account}`;
  for (let start = 0; ; start += 100) {
    const response = await ctx.http({ method: 'GET', path: '/dmpSegments', query: { q: 'account', account, start, count: 100 }, headers: headersFor(ctx) });
    if (response.status < 200 || response.status >= 300) linkedinError(response, what, ctx.config.rateLimitWaitMs);
    const page = parseResponse(DESTINATION, segmentListSchema, response, what);
    const found = page.elements.find((e) => e.name === name && (e.type === undefined || e.type.startsWith(object === 'users' ? 'USER' : 'COMPANY')));
    if (found) return String(found.id);
    if (page.elements.length < 100) break;
  }
  const created = `create DMP segment "${name}" in ${account}`;
  const response = await ctx.http({
    method: 'POST',
    path: '/dmpSegments',
    headers: headersFor(ctx),
    body: { name, account, type, sourcePlatform: 'STREAMING', accessPolicy: 'PRIVATE', destinations: [{ destination: 'LINKEDIN' }], description: 'Managed by warehouse-cdp' },
  });
  if (response.status < 200 || response.status >= 300) linkedinError(response, created, ctx.config.rateLimitWaitMs);
  const id = /(\d+)$/.exec(response.headers.get('x-restli-id') ?? response.headers.get('x-linkedin-id') ?? '')?.[1];
  if (!id) throw new ConnectorError(DESTINATION, 'transient', `${created}: LinkedIn answered ${response.status} without the new segment id (x-restli-id)`);
  // "After creating a DMP segment, wait 5 seconds for it to become available before adding users."
  if (ctx.config.segmentReadyWaitMs > 0) await pause(ctx.config.segmentReadyWaitMs, ctx.signal); // a cancelled run does not sit out the wait
  return id;
}

/** LinkedIn's email rule: remove all whitespace, lowercase, then SHA-256 hex. */
export function linkedinEmailHash(value: string): string | null {
  const email = value.replace(/\s+/g, '').toLowerCase();
  if (isSha256Hex(email)) return email;
  return /^[^@]+@[^@]+\.[^@]+$/.test(email) ? sha256Hex(email) : null;
}

const text = (v: FieldValue | undefined) => (v === null || v === undefined || typeof v === 'object' ? undefined : String(v).trim() || undefined);

/** The element a row becomes (without action), its identifier types, or why it has none. */
export function linkedinElement(object: 'users' | 'companies', fields: Record<string, FieldValue>): { element: Record<string, unknown>; types: string[] } | { reason: string } {
  if (object === 'users') {
    const userIds: Array<{ idType: string; idValue: string }> = [];
    const types: string[] = [];
    const email = text(fields.email);
    const hash = email ? linkedinEmailHash(email) : null;
    if (hash) (userIds.push({ idType: 'SHA256_EMAIL', idValue: hash }), types.push('email'));
    const aid = text(fields.google_aid);
    if (aid) (userIds.push({ idType: 'GOOGLE_AID', idValue: aid.toLowerCase() }), types.push('google_aid'));
    if (userIds.length === 0) return { reason: email ? `email ${'is not a valid address'}` : 'no email or Google advertising id' };
    return { element: { userIds }, types };
  }
  const element: Record<string, string> = {};
  for (const f of ['companyName', 'organizationUrn', 'companyWebsiteDomain', 'companyEmailDomain', 'companyPageUrl'] as const) {
    const v = text(fields[f]);
    if (v) element[f] = f.endsWith('Domain') ? v.toLowerCase() : v;
  }
  if (!element.organizationUrn && !element.companyWebsiteDomain && !element.companyEmailDomain && !element.companyName) return { reason: 'no organizationUrn, companyWebsiteDomain, companyEmailDomain or companyName' };
  return { element, types: Object.keys(element) };
}

const batchResponseSchema = z.object({ elements: z.array(z.object({ status: z.number(), message: z.string().optional() })) });

function linkedinError(response: HttpResponse, what: string, waitMs = 60_000): never {
  if (response.status === 429) {
    throw new ConnectorError(DESTINATION, 'rate_limited', `${what}: LinkedIn rate limit (HTTP 429)`, { httpStatus: 429, retryAfterMs: readRateLimitHeaders(response.headers).retryAfterMs ?? waitMs, hint: 'LinkedIn limits the streaming users/companies APIs per member per minute; the engine waits' });
  }
  throwForStatus(DESTINATION, response, what);
  throw new ConnectorError(DESTINATION, 'transient', `${what}: unexpected HTTP ${response.status}`);
}

export async function writeLinkedinBatch(ctx: Ctx, batch: Batch): Promise<{ outcomes: RowOutcome[]; report: AdBatchReport }> {
  const object = batch.object === 'segment_users' ? 'users' : batch.object === 'segment_companies' ? 'companies' : undefined;
  if (!object) throw OPTIONS.unknownObject(batch);
  if (batch.op !== 'add' && batch.op !== 'remove') throw OPTIONS.unsupported(batch);
  const options = OPTIONS.parse(batch.object as 'segment_users', batch);
  const reporter = new AdBatchReporter(batch.rows.length);
  const outcomes: RowOutcome[] = new Array(batch.rows.length);
  const send: Array<{ index: number; element: Record<string, unknown> }> = [];
  batch.rows.forEach((row, index) => {
    const remembered = batch.op === 'remove' ? decodeMemberToken(TOKEN, row.externalId) : undefined;
    const built = remembered ? { element: JSON.parse(remembered.e ?? '{}') as Record<string, unknown>, types: ['remembered'] } : linkedinElement(object, row.fields);
    if ('reason' in built) {
      outcomes[index] = rejected(`LinkedIn: ${built.reason}`);
      return;
    }
    reporter.identifiers(index, built.types);
    send.push({ index, element: built.element });
  });
  const action = batch.op === 'add' ? 'ADD' : 'REMOVE';
  const segmentId = send.length > 0 ? await resolveSegment(ctx, object, options) : '';
  for (let i = 0; i < send.length; i += LINKEDIN_BATCH) {
    const chunk = send.slice(i, i + LINKEDIN_BATCH);
    const what = `${action} ${chunk.length} ${object} in segment ${segmentId}`;
    const response = await ctx.http({
      method: 'POST',
      path: `/dmpSegments/${segmentId}/${object}`,
      headers: headersFor(ctx, 'BATCH_CREATE'),
      body: { elements: chunk.map((c) => ({ action, ...c.element })) },
    });
    if (response.status < 200 || response.status >= 300) linkedinError(response, what, ctx.config.rateLimitWaitMs);
    const parsed = parseResponse(DESTINATION, batchResponseSchema, response, what);
    if (parsed.elements.length !== chunk.length) throw new ConnectorError(DESTINATION, 'transient', `${what}: LinkedIn answered ${parsed.elements.length} statuses for ${chunk.length} elements`);
    chunk.forEach((c, k) => {
      const status = parsed.elements[k]!;
      if (status.status < 300) outcomes[c.index] = ok(encodeMemberToken(TOKEN, { e: JSON.stringify(c.element) }));
      else if (status.status === 429 || status.status >= 500) outcomes[c.index] = retry(`LinkedIn: ${status.message ?? status.status}`);
      else (reporter.invalid(c.index), (outcomes[c.index] = rejected(`LinkedIn: ${status.message ?? `status ${status.status}`}`)));
    });
    reporter.sent(chunk.map((c) => c.index));
  }
  return { outcomes, report: reporter.finish(outcomes) };
}

export default defineDestination({
  type: 'linkedin',
  title: 'LinkedIn Matched Audiences',
  category: 'ads',
  config: linkedinConfigSchema,
  objects: {
    segment_users: { key: 'id', modes: ['add_remove'], description: 'People in a DMP segment. Fields: email (hashed), google_aid. Options: segmentId, or segmentName (found or created in adAccountId).' },
    segment_companies: { key: 'id', modes: ['add_remove'], description: 'Companies in a DMP segment (B2B accounts). Fields: companyName, organizationUrn, companyWebsiteDomain, companyEmailDomain, companyPageUrl. Options: segmentId, or segmentName (found or created in adAccountId).' },
  },
  limits: { batchRows: LINKEDIN_BATCH, concurrency: 1 },
  async check(ctx) {
    const response = await ctx.http({ method: 'GET', path: '/adAccounts', query: { q: 'search' }, headers: headersFor(ctx) });
    if (response.status === 401) throw new ConnectorError(DESTINATION, 'auth', 'LinkedIn refused the access token (HTTP 401)', { hint: 'the token expired (60 days) or lacks rw_dmp_segments; authorise again' });
    if (response.status >= 300) linkedinError(response, 'check access');
  },
  async write(ctx, batch) {
    const { outcomes, report } = await writeLinkedinBatch(ctx, batch);
    ctx.report?.(report);
    return outcomes;
  },
});
