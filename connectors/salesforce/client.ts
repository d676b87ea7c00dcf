/**
 * Salesforce's REST API as the salesforce connector uses it (destinations.md §2): OAuth
 * refresh-token flow, sObject Collections (≤200 records a call) upsert by external id,
 * create, update by record id and delete, record ids by external id (SOQL, in chunks), Bulk
 * API 2.0 ingest jobs for upsert, insert, delete and hardDelete (create → CSV upload →
 * UploadComplete → poll with a timeout → successful/failed/unprocessed results), and
 * `/limits` for `check`.
 *
 * Invariants: every JSON body is validated with zod; `Sforce-Limit-Info` (api-usage=n/max)
 * is read from every answer, and once the org has used ≥98% of its daily allocation no
 * further call is made — the batch fails `rate_limited` so the org keeps headroom for its
 * other integrations; an expired session (401 INVALID_SESSION_ID) is refreshed once with the
 * refresh token and the call repeated; REQUEST_LIMIT_EXCEEDED (any status) is
 * `rate_limited`; the access token is never put in a URL or a message.
 */
import { z } from 'zod';
import { ConnectorError, pause, parseResponse, readRateLimitHeaders, type ConnectorContext, type HttpRequest, type HttpResponse } from '../kit';

export const DESTINATION = 'salesforce';
export const COLLECTION_LIMIT = 200;
/** External ids per SOQL lookup: keeps the query URL well under Salesforce's 16,384-character limit. */
export const LOOKUP_CHUNK = 100;

export type BulkOperation = 'upsert' | 'insert' | 'delete' | 'hardDelete';

export interface SalesforceAuthConfig {
  /** The org's instance URL; without it, the one the token endpoint names. */
  baseUrl?: string;
  apiVersion: string;
  accessToken?: string;
  clientId?: string;
  clientSecret?: string;
  refreshToken?: string;
  tokenUrl: string;
  bulkPollIntervalMs: number;
  bulkTimeoutMs: number;
  requestLimitWaitMs: number;
}

const sfErrorSchema = z.object({ message: z.string(), errorCode: z.string().optional(), statusCode: z.string().optional(), fields: z.array(z.string()).optional() });
export type SalesforceError = z.infer<typeof sfErrorSchema>;
const errorBodySchema = z.array(sfErrorSchema);

const querySchema = z.object({
  totalSize: z.number().optional(),
  done: z.boolean(),
  nextRecordsUrl: z.string().nullable().optional(),
  records: z.array(z.record(z.string(), z.unknown())),
});

/** A SOQL string literal: backslash and quote escaped (Salesforce's SOQL escape rules). */
export function soqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

const tokenSchema = z.object({ access_token: z.string(), instance_url: z.string().url(), token_type: z.string().optional() });

export const saveResultSchema = z.object({
  id: z.string().nullable().optional(),
  success: z.boolean(),
  created: z.boolean().optional(),
  errors: z.array(sfErrorSchema).default([]),
});
export type SaveResult = z.infer<typeof saveResultSchema>;

const jobSchema = z.object({
  id: z.string(),
  state: z.enum(['Open', 'UploadComplete', 'InProgress', 'JobComplete', 'Failed', 'Aborted']),
  errorMessage: z.string().nullable().optional(),
  numberRecordsProcessed: z.number().optional(),
  numberRecordsFailed: z.number().optional(),
});
export type BulkJob = z.infer<typeof jobSchema>;

interface Session {
  accessToken: string;
  instanceUrl: string;
}

/** Sessions by refresh token: batches run concurrently, and one refresh serves them all. */
const sessions = new Map<string, Promise<Session>>();
/** The last API usage each org reported (by instance URL). */
const usageByOrg = new Map<string, { used: number; max: number }>();

export function parseLimitInfo(header: string | null): { used: number; max: number } | undefined {
  const m = header ? /api-usage=(\d+)\/(\d+)/.exec(header) : null;
  return m ? { used: Number(m[1]), max: Number(m[2]) } : undefined;
}

export class SalesforceClient {
  constructor(private readonly ctx: ConnectorContext<SalesforceAuthConfig>) {}

  private get orgKey(): string {
    return this.ctx.config.baseUrl ?? `${this.ctx.config.tokenUrl}|${this.ctx.config.clientId ?? ''}`;
  }

  private get data(): string {
    return `/services/data/v${this.ctx.config.apiVersion}`;
  }

  /** A session: the configured access token, or one from the refresh-token flow. */
  private async session(force = false): Promise<Session> {
    const c = this.ctx.config;
    if (!c.refreshToken) {
      if (!c.accessToken) throw new ConnectorError(DESTINATION, 'config', 'no credentials: set accessToken, or clientId + clientSecret + refreshToken', { hint: 'see connectors/salesforce/README.md' });
      if (!c.baseUrl) throw new ConnectorError(DESTINATION, 'config', 'with an accessToken alone, baseUrl (the instance URL) is required', { hint: 'set baseUrl: https://yourorg.my.salesforce.com' });
      return { accessToken: c.accessToken, instanceUrl: c.baseUrl };
    }
    const cacheKey = `${c.tokenUrl}|${c.clientId ?? ''}|${c.refreshToken}`;
    let pending = sessions.get(cacheKey);
    if (!pending || force) {
      pending = this.refresh();
      sessions.set(cacheKey, pending);
      pending.catch(() => sessions.delete(cacheKey));
    }
    return pending;
  }

  private async refresh(): Promise<Session> {
    const c = this.ctx.config;
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: c.refreshToken!, client_id: c.clientId ?? '', ...(c.clientSecret ? { client_secret: c.clientSecret } : {}) });
    const response = await this.ctx.http({ method: 'POST', path: c.tokenUrl, headers: { 'content-type': 'application/x-www-form-urlencoded' }, rawBody: form.toString() });
    if (response.status === 400 || response.status === 401) {
      throw new ConnectorError(DESTINATION, 'auth', `refreshing the Salesforce session failed (HTTP ${response.status}: ${describeOAuthError(response.body)})`, {
        httpStatus: response.status,
        hint: 'the refresh token was revoked or the connected app changed; authorise again and update refreshToken',
      });
    }
    if (response.status >= 300) throw salesforceError(response, 'refresh the Salesforce session');
    const token = parseResponse(DESTINATION, tokenSchema, response, 'refresh the Salesforce session');
    // The token endpoint says which instance the org lives on; a configured baseUrl (tests, My Domain) wins.
    return { accessToken: token.access_token, instanceUrl: c.baseUrl ?? token.instance_url };
  }

  /** Sends with the session; refreshes once on INVALID_SESSION_ID; failed answers throw classified errors. */
  async send(request: HttpRequest, what: string, accept: (status: number) => boolean = (s) => s >= 200 && s < 300): Promise<HttpResponse> {
    const usage = usageByOrg.get(this.orgKey);
    if (usage && usage.max > 0 && usage.used / usage.max >= 0.98) {
      throw new ConnectorError(DESTINATION, 'rate_limited', `${what}: not sent — the org has used ${usage.used} of its ${usage.max} daily API requests (Sforce-Limit-Info)`, {
        retryAfterMs: 15 * 60_000,
        hint: 'Salesforce counts API requests per org over a rolling 24 h; the engine waits. Sync less often or buy more API capacity',
      });
    }
    let session = await this.session();
    let response = await this.call(session, request);
    if (response.status === 401 && this.ctx.config.refreshToken) {
      session = await this.session(true);
      response = await this.call(session, request);
    }
    const info = parseLimitInfo(response.headers.get('sforce-limit-info'));
    if (info) usageByOrg.set(this.orgKey, info);
    if (accept(response.status)) return response;
    throw salesforceError(response, what, this.ctx.config.requestLimitWaitMs);
  }

  private call(session: Session, request: HttpRequest): Promise<HttpResponse> {
    const path = /^https?:/.test(request.path) ? request.path : `${session.instanceUrl.replace(/\/+$/, '')}${request.path}`;
    return this.ctx.http({ ...request, path, headers: { ...request.headers, authorization: `Bearer ${session.accessToken}` } });
  }

  async limits(): Promise<void> {
    const response = await this.send({ method: 'GET', path: `${this.data}/limits` }, 'read org limits');
    parseResponse(DESTINATION, z.object({ DailyApiRequests: z.object({ Max: z.number(), Remaining: z.number() }) }), response, 'read org limits');
  }

  async upsertCollection(sobject: string, externalIdField: string, records: Array<Record<string, unknown>>): Promise<SaveResult[]> {
    const what = `upsert ${records.length} ${sobject} by ${externalIdField}`;
    const body = { allOrNone: false, records: records.map((r) => ({ attributes: { type: sobject }, ...r })) };
    const response = await this.send({ method: 'PATCH', path: `${this.data}/composite/sobjects/${sobject}/${externalIdField}`, body }, what);
    return parseResponse(DESTINATION, z.array(saveResultSchema).length(records.length), response, what);
  }

  /** sObject Collections create (insert mode): SaveResults in request order, without `created`. */
  async createCollection(sobject: string, records: Array<Record<string, unknown>>): Promise<SaveResult[]> {
    const what = `create ${records.length} ${sobject}`;
    const body = { allOrNone: false, records: records.map((r) => ({ attributes: { type: sobject }, ...r })) };
    const response = await this.send({ method: 'POST', path: `${this.data}/composite/sobjects`, body }, what);
    return parseResponse(DESTINATION, z.array(saveResultSchema).length(records.length), response, what);
  }

  /** sObject Collections update by record id (update mode): each record carries its `id`. */
  async updateCollection(sobject: string, records: Array<Record<string, unknown> & { id: string }>): Promise<SaveResult[]> {
    const what = `update ${records.length} ${sobject}`;
    const body = { allOrNone: false, records: records.map((r) => ({ attributes: { type: sobject }, ...r })) };
    const response = await this.send({ method: 'PATCH', path: `${this.data}/composite/sobjects`, body }, what);
    return parseResponse(DESTINATION, z.array(saveResultSchema).length(records.length), response, what);
  }

  /** Record ids of these external id values (absent ones are missing from the map), by SOQL in chunks. */
  async findIds(sobject: string, externalIdField: string, values: string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const unique = [...new Set(values)];
    for (let i = 0; i < unique.length; i += LOOKUP_CHUNK) {
      const chunk = unique.slice(i, i + LOOKUP_CHUNK);
      const soql = `SELECT Id, ${externalIdField} FROM ${sobject} WHERE ${externalIdField} IN (${chunk.map(soqlString).join(', ')})`;
      const what = `look up ${chunk.length} ${sobject} by ${externalIdField}`;
      let path: string | undefined = `${this.data}/query`;
      let query: HttpRequest['query'] = { q: soql };
      while (path) {
        const response = await this.send({ method: 'GET', path, query }, what);
        const page = parseResponse(DESTINATION, querySchema, response, what);
        for (const record of page.records) {
          const value = record[externalIdField];
          if (typeof value === 'string' && typeof record.Id === 'string') found.set(value, record.Id);
        }
        path = page.done ? undefined : page.nextRecordsUrl ?? undefined;
        query = undefined;
      }
    }
    return found;
  }

  async deleteCollection(ids: string[]): Promise<SaveResult[]> {
    const what = `delete ${ids.length} records`;
    const response = await this.send({ method: 'DELETE', path: `${this.data}/composite/sobjects`, query: { ids: ids.join(','), allOrNone: 'false' } }, what);
    return parseResponse(DESTINATION, z.array(saveResultSchema).length(ids.length), response, what);
  }


  // ---------------------------------------------------------------------------- Bulk 2.0

  /** A Bulk 2.0 ingest job; `externalIdField` only for upsert. */
  async createJob(sobject: string, operation: BulkOperation, externalIdField?: string): Promise<BulkJob> {
    const what = `create a bulk ${operation} job for ${sobject}`;
    const body = { object: sobject, ...(operation === 'upsert' ? { externalIdFieldName: externalIdField } : {}), contentType: 'CSV', operation, lineEnding: 'LF' };
    return parseResponse(DESTINATION, jobSchema, await this.send({ method: 'POST', path: `${this.data}/jobs/ingest`, body }, what), what);
  }

  async uploadCsv(jobId: string, csv: string): Promise<void> {
    await this.send({ method: 'PUT', path: `${this.data}/jobs/ingest/${jobId}/batches`, headers: { 'content-type': 'text/csv' }, rawBody: csv }, `upload the CSV of bulk job ${jobId}`);
  }

  async setJobState(jobId: string, state: 'UploadComplete' | 'Aborted'): Promise<BulkJob> {
    const what = `mark bulk job ${jobId} ${state}`;
    return parseResponse(DESTINATION, jobSchema, await this.send({ method: 'PATCH', path: `${this.data}/jobs/ingest/${jobId}`, body: { state } }, what), what);
  }

  async job(jobId: string): Promise<BulkJob> {
    const what = `poll bulk job ${jobId}`;
    return this.patiently(async () => parseResponse(DESTINATION, jobSchema, await this.send({ method: 'GET', path: `${this.data}/jobs/ingest/${jobId}` }, what), what));
  }

  /**
   * Reads of a submitted job are retried here, not by the engine: once a job is
   * UploadComplete Salesforce processes it, and resubmitting the batch would report every
   * record as not created (so mirror would never delete them). Its results stay for 7 days.
   */
  private async patiently<T>(read: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await read();
      } catch (error) {
        if (!(error instanceof ConnectorError) || !error.retryable || attempt >= 6 || this.ctx.signal.aborted) throw error;
        await pause(Math.min(error.retryAfterMs ?? 200 * 2 ** attempt, 60_000), this.ctx.signal);
      }
    }
  }

  /** Polls until the job is terminal; undefined when `bulkTimeoutMs` passed first (every poll has a timeout). */
  async waitForJob(jobId: string): Promise<BulkJob | undefined> {
    const deadline = Date.now() + this.ctx.config.bulkTimeoutMs;
    for (;;) {
      const job = await this.job(jobId);
      if (job.state === 'JobComplete' || job.state === 'Failed' || job.state === 'Aborted') return job;
      if (Date.now() >= deadline) return undefined;
      await pause(this.ctx.config.bulkPollIntervalMs, this.ctx.signal);
    }
  }

  async results(jobId: string, kind: 'successfulResults' | 'failedResults' | 'unprocessedrecords'): Promise<string> {
    const what = `read ${kind} of bulk job ${jobId}`;
    const response = await this.patiently(() => this.send({ method: 'GET', path: `${this.data}/jobs/ingest/${jobId}/${kind}/`, headers: { accept: 'text/csv' } }, what));
    return typeof response.body === 'string' ? response.body : '';
  }
}


function describeOAuthError(body: unknown): string {
  const parsed = z.object({ error: z.string(), error_description: z.string().optional() }).safeParse(body);
  return parsed.success ? `${parsed.data.error}${parsed.data.error_description ? `: ${parsed.data.error_description}` : ''}` : 'no reason given';
}

/** Maps a failed Salesforce answer (a JSON array of {message, errorCode}) to a ConnectorError. */
export function salesforceError(response: HttpResponse, what: string, requestLimitWaitMs = 60_000): ConnectorError {
  const parsed = errorBodySchema.safeParse(response.body);
  const first = parsed.success ? parsed.data[0] : undefined;
  const code = first?.errorCode ?? first?.statusCode;
  const status = response.status;
  const said = first ? ` — ${code ? `${code}: ` : ''}${first.message}` : '';
  const base = { httpStatus: status, cause: response.body };
  if (code === 'REQUEST_LIMIT_EXCEEDED' || status === 429) {
    return new ConnectorError(DESTINATION, 'rate_limited', `${what}: Salesforce request limit exceeded (HTTP ${status}${said})`, {
      ...base,
      retryAfterMs: readRateLimitHeaders(response.headers).retryAfterMs ?? requestLimitWaitMs,
      hint: 'too many concurrent long requests or the daily allocation is used up; the engine waits',
    });
  }
  if (status === 401) return new ConnectorError(DESTINATION, 'auth', `${what}: Salesforce refused the session (HTTP 401${said})`, { ...base, hint: 'the access token expired: configure clientId, clientSecret and refreshToken so the connector can refresh it' });
  if (status === 403) return new ConnectorError(DESTINATION, 'auth', `${what}: not allowed (HTTP 403${said})`, { ...base, hint: 'the integration user needs API Enabled and edit access to the object and its external id field' });
  if (status === 404) return new ConnectorError(DESTINATION, 'config', `${what}: not found (HTTP 404${said})`, { ...base, hint: 'check baseUrl (the instance URL), apiVersion, the object and the externalIdField option' });
  if (status >= 500 || status === 408) return new ConnectorError(DESTINATION, 'transient', `${what}: Salesforce had a problem (HTTP ${status}${said})`, { ...base, hint: 'the engine retries' });
  return new ConnectorError(DESTINATION, 'permanent', `${what}: Salesforce refused the request (HTTP ${status}${said})`, { ...base, hint: 'the engine splits the batch to find the row Salesforce refuses' });
}

/** Per-record error codes that may pass on retry (lock contention, timeouts), as opposed to bad data. */
export const TRANSIENT_RECORD_ERRORS = new Set(['UNABLE_TO_LOCK_ROW', 'REQUEST_RUNNING_TOO_LONG', 'SERVER_UNAVAILABLE', 'QUERY_TIMEOUT']);

export function recordErrorText(errors: SalesforceError[]): string {
  return errors.map((e) => `${e.statusCode ?? e.errorCode ?? 'ERROR'}: ${e.message}${e.fields && e.fields.length ? ` (${e.fields.join(', ')})` : ''}`).join('; ') || 'Salesforce gave no reason';
}

/** The status code of a Bulk `sf__Error` cell ("UNABLE_TO_LOCK_ROW:unable to obtain…"). */
export function bulkErrorCode(error: string): string {
  return error.split(':')[0]!.trim();
}

/** Testing hook: forget cached sessions and usage (each test gets a fresh fake). */
export function resetSalesforceCaches(): void {
  sessions.clear();
  usageByOrg.clear();
}
