/**
 * The Google Ads Customer Match destination (issue 9): members of a CUSTOMER_MATCH user list
 * through an OfflineUserDataJob per batch — create (with consent) → addOperations
 * (create/remove operations, partial failure enabled, ≤ `maxIdentifiersPerRequest`
 * identifiers a request, ≤20 per user) → run.
 *
 * Invariants:
 *  - no raw email, phone or name is sent (normalise.ts hashes them; country and postal code
 *    go in clear, as Google requires);
 *  - one outcome per row, in order: rows without a usable identifier are `rejected` before
 *    sending; partial-failure errors are mapped to rows through the operation index in their
 *    field path and `rejected` with Google's message; the other rows are `ok` once the job
 *    was run (Google processes it asynchronously — hours — so `ok` means "accepted");
 *  - never two jobs on one list at once from this process (a per-list queue); a
 *    CONCURRENT_MODIFICATION from Google (a job from elsewhere) is a transient failure;
 *  - `ok.externalId` is a member token with the identifiers as sent, so removals send the same.
 */
import { z } from 'zod';
import { ConnectorError, defineDestination, ok, parseResponse, readRateLimitHeaders, rejected, secret, type Batch, type ConnectorContext, type HttpRequest, type HttpResponse, type RowOutcome } from '../kit';
import { countIdentifiers, emptyBatchReport, type AdBatchReport } from '../kit/match-rate';
import { decodeMemberToken, encodeMemberToken } from '../kit/audience-member-token';
import { googleUserIdentifiers, normaliseGoogleEmail, type GoogleUserIdentifier } from './normalise';

export { googleUserIdentifiers, normaliseGoogleEmail } from './normalise';

const DESTINATION = 'google_ads';
const TOKEN = 'gads';

export const googleAdsConfigSchema = z
  .object({
    customerId: z.string().regex(/^\d{10}$/, 'customerId is the 10-digit id without hyphens'),
    /** A manager account id (no hyphens) when access goes through one. */
    loginCustomerId: z.string().regex(/^\d{10}$/).optional(),
    developerToken: secret(),
    accessToken: secret().optional(),
    clientId: z.string().optional(),
    clientSecret: secret().optional(),
    refreshToken: secret().optional(),
    tokenUrl: z.string().url().default('https://oauth2.googleapis.com/token'),
    baseUrl: z.string().url().default('https://googleads.googleapis.com/v23'),
  })
  .refine((c) => c.accessToken !== undefined || (c.refreshToken !== undefined && c.clientId !== undefined), { message: 'give accessToken, or clientId + clientSecret + refreshToken' });
export type GoogleAdsConfig = z.output<typeof googleAdsConfigSchema>;
type Ctx = ConnectorContext<GoogleAdsConfig>;

const consent = z.enum(['GRANTED', 'DENIED', 'UNSPECIFIED']);
const optionsSchema = z.strictObject({
  userListId: z.string().regex(/^\d+$/),
  /** Job-level consent (EU user consent policy); omitted when not set. */
  adUserData: consent.optional(),
  adPersonalization: consent.optional(),
  defaultCountryCode: z.string().regex(/^\d{1,3}$/).optional(),
  /** Google allows 100,000 identifiers per addOperations request and recommends about 10,000. */
  maxIdentifiersPerRequest: z.coerce.number().int().min(20).max(100_000).default(10_000),
});

const errorBodySchema = z.object({ error: z.object({ code: z.number(), message: z.string(), status: z.string().optional(), details: z.array(z.unknown()).optional() }) });
const failureSchema = z.object({
  errors: z.array(
    z.object({
      errorCode: z.record(z.string(), z.string()).optional(),
      message: z.string(),
      location: z.object({ fieldPathElements: z.array(z.object({ fieldName: z.string(), index: z.number().optional() })) }).optional(),
    }),
  ),
});
const addOperationsResponseSchema = z.object({
  partialFailureError: z.object({ code: z.number(), message: z.string(), details: z.array(z.unknown()).default([]) }).optional(),
});

const sessions = new Map<string, Promise<string>>();
const listQueues = new Map<string, Promise<unknown>>();

class GoogleAdsClient {
  constructor(private readonly ctx: Ctx) {}

  private async token(force = false): Promise<string> {
    const c = this.ctx.config;
    if (!c.refreshToken) return c.accessToken!;
    const key = `${c.tokenUrl}|${c.clientId}|${c.refreshToken}`;
    let pending = sessions.get(key);
    if (!pending || force) {
      pending = (async () => {
        const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: c.refreshToken!, client_id: c.clientId!, client_secret: c.clientSecret ?? '' });
        const response = await this.ctx.http({ method: 'POST', path: c.tokenUrl, headers: { 'content-type': 'application/x-www-form-urlencoded' }, rawBody: form.toString() });
        if (response.status === 400 || response.status === 401) throw new ConnectorError(DESTINATION, 'auth', `refreshing the Google token failed (HTTP ${response.status})`, { hint: 'authorise again and update refreshToken' });
        if (response.status >= 300) throw googleError(response, 'refresh the Google token');
        return parseResponse(DESTINATION, z.object({ access_token: z.string() }), response, 'refresh the Google token').access_token;
      })();
      sessions.set(key, pending);
      pending.catch(() => sessions.delete(key));
    }
    return pending;
  }

  async send(request: HttpRequest, what: string): Promise<HttpResponse> {
    const c = this.ctx.config;
    const go = async (token: string) =>
      this.ctx.http({ ...request, headers: { authorization: `Bearer ${token}`, 'developer-token': c.developerToken, ...(c.loginCustomerId ? { 'login-customer-id': c.loginCustomerId } : {}) } });
    let response = await go(await this.token());
    if (response.status === 401 && c.refreshToken) response = await go(await this.token(true));
    if (response.status >= 200 && response.status < 300) return response;
    throw googleError(response, what);
  }
}

export function googleError(response: HttpResponse, what: string): ConnectorError {
  const parsed = errorBodySchema.safeParse(response.body);
  const status = response.status;
  const said = parsed.success ? ` — ${parsed.data.error.status ?? ''} ${parsed.data.error.message}` : '';
  const base = { httpStatus: status, cause: response.body };
  const text = JSON.stringify(response.body ?? '');
  if (status === 429 || /RESOURCE_EXHAUSTED|RATE_EXCEEDED/.test(text)) {
    // Google puts the wait in the failure details (quotaErrorDetails.retryDelay: "30s"), not in Retry-After.
    const delay = /"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"/.exec(text);
    const retryAfterMs = readRateLimitHeaders(response.headers).retryAfterMs ?? (delay ? Math.round(Number(delay[1]) * 1000) : 30_000);
    return new ConnectorError(DESTINATION, 'rate_limited', `${what}: Google Ads rate limit (HTTP ${status}${said})`, { ...base, retryAfterMs, hint: 'the engine waits; basic developer-token access has low operation caps' });
  }
  if (/CONCURRENT_MODIFICATION/.test(text) || status === 409) {
    return new ConnectorError(DESTINATION, 'transient', `${what}: another job is changing this user list (HTTP ${status}${said})`, { ...base, retryAfterMs: 5_000, hint: 'Google allows one job per list at a time; the engine retries' });
  }
  if (status === 401 || status === 403) return new ConnectorError(DESTINATION, 'auth', `${what}: Google Ads refused the credentials (HTTP ${status}${said})`, { ...base, hint: 'check the OAuth token, developer token (approved?) and loginCustomerId' });
  if (status === 404) return new ConnectorError(DESTINATION, 'config', `${what}: not found (HTTP 404${said})`, { ...base, hint: 'check customerId and userListId' });
  if (status >= 500) return new ConnectorError(DESTINATION, 'transient', `${what}: Google Ads had a problem (HTTP ${status}${said})`, { ...base, hint: 'the engine retries' });
  return new ConnectorError(DESTINATION, 'permanent', `${what}: Google Ads refused the request (HTTP ${status}${said})`, base);
}

/**
 * Google runs a job for a while after `run`; creating or running the next job on the same list
 * meanwhile is CONCURRENT_MODIFICATION. Waiting briefly here (100 ms doubling, 5 tries) beats
 * failing the batch; after that the engine's backoff takes over.
 */
async function patiently<T>(signal: AbortSignal, call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const concurrent = error instanceof ConnectorError && error.failure === 'transient' && /another job/.test(error.message);
      if (!concurrent || attempt >= 4 || signal.aborted) throw error;
      await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
    }
  }
}

/** Runs `task` after every earlier task on the same list finished: one job per list at a time. */
function onList<T>(key: string, task: () => Promise<T>): Promise<T> {
  const previous = listQueues.get(key) ?? Promise.resolve();
  const next = previous.then(task, task);
  listQueues.set(key, next.catch(() => undefined));
  return next;
}

/** Operation indexes a partial failure names, with their messages. */
function partialFailures(response: z.infer<typeof addOperationsResponseSchema>): Map<number, string> {
  const byIndex = new Map<number, string>();
  for (const detail of response.partialFailureError?.details ?? []) {
    const parsed = failureSchema.safeParse(detail);
    if (!parsed.success) continue;
    for (const error of parsed.data.errors) {
      const index = error.location?.fieldPathElements.find((e) => e.fieldName === 'operations')?.index;
      if (index === undefined) continue;
      const code = Object.values(error.errorCode ?? {})[0];
      byIndex.set(index, `${code ? `${code}: ` : ''}${error.message}`);
    }
  }
  return byIndex;
}

export async function writeGoogleAdsBatch(ctx: Ctx, batch: Batch): Promise<{ outcomes: RowOutcome[]; report: AdBatchReport }> {
  if (batch.object !== 'customer_match_members' || (batch.op !== 'add' && batch.op !== 'remove')) throw new ConnectorError(DESTINATION, 'config', `${batch.object} ${batch.op} is not supported`, { hint: 'object customer_match_members, mode add_remove' });
  const parsed = optionsSchema.safeParse(batch.options ?? {});
  if (!parsed.success) throw new ConnectorError(DESTINATION, 'config', `bad options: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`, { hint: 'userListId is required; see connectors/google-ads/README.md' });
  const options = parsed.data;
  const report = emptyBatchReport();
  report.members = batch.rows.length;
  const outcomes: RowOutcome[] = new Array(batch.rows.length);
  const members: Array<{ index: number; identifiers: GoogleUserIdentifier[] }> = [];
  batch.rows.forEach((row, index) => {
    const remembered = batch.op === 'remove' ? decodeMemberToken(TOKEN, row.externalId) : undefined;
    let identifiers: GoogleUserIdentifier[];
    let types: string[];
    let unusable: string[] = [];
    if (remembered) {
      identifiers = JSON.parse(remembered.ids ?? '[]') as GoogleUserIdentifier[];
      types = identifiers.map((i) => Object.keys(i)[0]!);
    } else {
      ({ identifiers, types, unusable } = googleUserIdentifiers(row.fields, options.defaultCountryCode));
      if (batch.op === 'remove' && identifiers.length === 0) {
        const email = normaliseGoogleEmail(row.key);
        if (email) ({ identifiers, types } = googleUserIdentifiers({ email }));
      }
    }
    countIdentifiers(report, types);
    if (identifiers.length === 0) {
      report.rejectedLocally++;
      outcomes[index] = rejected(`no usable email, phone, address or mobile id for Customer Match${unusable.length ? ` (${unusable.join('; ')})` : ''}`);
    } else members.push({ index, identifiers });
  });
  if (members.length === 0) return { outcomes, report };

  const c = ctx.config;
  const client = new GoogleAdsClient(ctx);
  const listKey = `${c.baseUrl}|${c.customerId}|${options.userListId}`;
  await onList(listKey, async () => {
    const consentBody = options.adUserData || options.adPersonalization ? { consent: { ...(options.adUserData ? { adUserData: options.adUserData } : {}), ...(options.adPersonalization ? { adPersonalization: options.adPersonalization } : {}) } } : {};
    const created = await patiently(ctx.signal, () => client.send(
      { method: 'POST', path: `/customers/${c.customerId}/offlineUserDataJobs:create`, body: { job: { type: 'CUSTOMER_MATCH_USER_LIST', customerMatchUserListMetadata: { userList: `customers/${c.customerId}/userLists/${options.userListId}`, ...consentBody } } } },
      'create an offline user data job',
    ));
    const job = parseResponse(DESTINATION, z.object({ resourceName: z.string() }), created, 'create an offline user data job').resourceName;
    // Requests hold whole users, at most maxIdentifiersPerRequest identifiers summed.
    const requests: Array<typeof members> = [];
    let current: typeof members = [];
    let count = 0;
    for (const m of members) {
      if (count + m.identifiers.length > options.maxIdentifiersPerRequest && current.length) (requests.push(current), (current = []), (count = 0));
      current.push(m);
      count += m.identifiers.length;
    }
    if (current.length) requests.push(current);
    for (const chunk of requests) {
      const what = `add ${chunk.length} operations to ${job}`;
      const kind = batch.op === 'add' ? 'create' : 'remove';
      const response = await client.send({ method: 'POST', path: `/${job}:addOperations`, body: { enablePartialFailure: true, operations: chunk.map((m) => ({ [kind]: { userIdentifiers: m.identifiers } })) } }, what);
      const failed = partialFailures(parseResponse(DESTINATION, addOperationsResponseSchema, response, what));
      chunk.forEach((m, i) => {
        const reason = failed.get(i);
        if (reason) (report.reportedInvalid++, (outcomes[m.index] = rejected(`Google Ads: ${reason}`)));
        else outcomes[m.index] = ok(encodeMemberToken(TOKEN, { ids: JSON.stringify(m.identifiers) }));
      });
      report.sent += chunk.length;
    }
    await patiently(ctx.signal, () => client.send({ method: 'POST', path: `/${job}:run`, body: {} }, `run ${job}`));
  });
  return { outcomes, report };
}

export default defineDestination({
  type: 'google_ads',
  title: 'Google Ads Customer Match',
  category: 'ads',
  config: googleAdsConfigSchema,
  objects: {
    customer_match_members: {
      key: 'id',
      modes: ['add_remove'],
      requiredOptions: ['userListId'],
      description: 'Members of a Customer Match user list. Fields: email, phone, first_name, last_name, country, postal_code (or zip), mobile_id, third_party_user_id. Options: userListId, adUserData/adPersonalization consent, defaultCountryCode.',
    },
  },
  // One job per list at a time: batches to a list are serialised anyway.
  limits: { batchRows: 10_000, concurrency: 1 },
  async check(ctx) {
    const c = ctx.config;
    const response = await new GoogleAdsClient(ctx).send({ method: 'POST', path: `/customers/${c.customerId}/googleAds:search`, body: { query: 'SELECT customer.id FROM customer LIMIT 1' } }, 'read the customer');
    parseResponse(DESTINATION, z.object({ results: z.array(z.unknown()).optional() }), response, 'read the customer');
  },
  async write(ctx, batch) {
    const { outcomes, report } = await writeGoogleAdsBatch(ctx, batch);
    ctx.report?.(report);
    return outcomes;
  },
});
