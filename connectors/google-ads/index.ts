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
 *    field path and `rejected` with Google's message; after `run` the job is polled
 *    (GoogleAdsService search on offline_user_data_job, every `jobPollIntervalMs`) until it is
 *    SUCCESS — the other rows `ok` — or FAILED — they are `retry` with the failure reason, so
 *    the engine sends them again in a new job (adds and removes are idempotent); a job still
 *    RUNNING after `jobTimeoutMs` leaves its rows `ok` (Google accepted them and keeps
 *    processing; `jobTimeoutMs: 0` does not wait at all);
 *  - never two jobs on one list at once from this process (a per-list queue); a
 *    CONCURRENT_MODIFICATION from Google (a job from elsewhere) is a transient failure;
 *  - `ok.externalId` is a member token with the identifiers as sent, so removals send the same;
 *  - the match-rate report counts each row once (`AdBatchReporter`).
 */
import { z } from 'zod';
import { ConnectorError, pause, defineDestination, objectOptions, ok, phoneDefaultCountryOption, parseResponse, readRateLimitHeaders, rejected, retry, secret, type Batch, type ConnectorContext, type HttpRequest, type HttpResponse, type RowOutcome } from '../kit';
import { AdBatchReporter, type AdBatchReport } from '../kit/match-rate';
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
    /** How often a run job's status is read. */
    jobPollIntervalMs: z.number().int().positive().default(5_000),
    /** How long a batch waits for its job to finish (Google may take hours); 0: do not wait. */
    jobTimeoutMs: z.number().int().nonnegative().default(10 * 60_000),
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
  /** Country of phones written without a country code: ISO 3166 ('GB') or calling code ('44'). */
  defaultCountryCode: phoneDefaultCountryOption.optional(),
  /** Google allows 100,000 identifiers per addOperations request and recommends about 10,000. */
  maxIdentifiersPerRequest: z.coerce.number().int().min(20).max(100_000).default(10_000),
});
const OPTIONS = objectOptions(DESTINATION, { customer_match_members: optionsSchema }, { readme: 'google-ads', unsupported: 'use mode add_remove' });

const jobStatusSchema = z.object({
  results: z
    .array(
      z.object({
        offlineUserDataJob: z.object({
          resourceName: z.string().optional(),
          status: z.enum(['UNSPECIFIED', 'UNKNOWN', 'PENDING', 'RUNNING', 'SUCCESS', 'FAILED']),
          failureReason: z.string().optional(),
          operationMetadata: z.object({ matchRateRange: z.string().optional() }).optional(),
        }),
      }),
    )
    .default([]),
});
export type GoogleJobStatus = z.infer<typeof jobStatusSchema>['results'][number]['offlineUserDataJob'];

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

  /** The job's status through GoogleAdsService search (the only way Google exposes it). */
  async jobStatus(job: string): Promise<GoogleJobStatus | undefined> {
    const what = `read the status of ${job}`;
    const query = `SELECT offline_user_data_job.resource_name, offline_user_data_job.status, offline_user_data_job.failure_reason, offline_user_data_job.operation_metadata.match_rate_range FROM offline_user_data_job WHERE offline_user_data_job.resource_name = '${job}'`;
    const response = await this.send({ method: 'POST', path: `/customers/${this.ctx.config.customerId}/googleAds:search`, body: { query } }, what);
    return parseResponse(DESTINATION, jobStatusSchema, response, what).results[0]?.offlineUserDataJob;
  }

  /**
   * Polls a run job until SUCCESS or FAILED; undefined when `jobTimeoutMs` passed first (or is
   * 0). Reads that fail transiently are retried here: the job runs on regardless, and resending
   * the batch would only queue a duplicate job.
   */
  async waitForJob(job: string): Promise<GoogleJobStatus | undefined> {
    const { jobTimeoutMs, jobPollIntervalMs } = this.ctx.config;
    if (jobTimeoutMs === 0) return undefined;
    const deadline = Date.now() + jobTimeoutMs;
    for (;;) {
      await pause(jobPollIntervalMs, this.ctx.signal);
      if (this.ctx.signal.aborted) return undefined;
      let status: GoogleJobStatus | undefined;
      try {
        status = await this.jobStatus(job);
      } catch (error) {
        if (!(error instanceof ConnectorError) || !error.retryable) throw error;
      }
      if (status?.status === 'SUCCESS' || status?.status === 'FAILED') return status;
      if (Date.now() >= deadline) return undefined;
    }
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
  if (batch.object !== 'customer_match_members') throw OPTIONS.unknownObject(batch);
  if (batch.op !== 'add' && batch.op !== 'remove') throw OPTIONS.unsupported(batch);
  const options = OPTIONS.parse('customer_match_members', batch);
  const reporter = new AdBatchReporter(batch.rows.length);
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
    reporter.identifiers(index, types);
    if (identifiers.length === 0) {
      outcomes[index] = rejected(`no usable email, phone, address or mobile id for Customer Match${unusable.length ? ` (${unusable.join('; ')})` : ''}`);
    } else members.push({ index, identifiers });
  });
  if (members.length === 0) return { outcomes, report: reporter.finish(outcomes) };

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
        if (reason) (reporter.invalid(m.index), (outcomes[m.index] = rejected(`Google Ads: ${reason}`)));
        else outcomes[m.index] = ok(encodeMemberToken(TOKEN, { ids: JSON.stringify(m.identifiers) }));
      });
      reporter.sent(chunk.map((m) => m.index));
    }
    await patiently(ctx.signal, () => client.send({ method: 'POST', path: `/${job}:run`, body: {} }, `run ${job}`));
    // Still inside the list's queue: the next job on this list starts once this one is done.
    const final = await client.waitForJob(job);
    if (final?.status === 'FAILED') {
      const reason = `Google Ads job ${job} FAILED${final.failureReason ? ` (${final.failureReason})` : ''}; sent again in a new job`;
      for (const m of members) if (outcomes[m.index]?.status === 'ok') outcomes[m.index] = retry(reason);
    }
  });
  return { outcomes, report: reporter.finish(outcomes) };
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
