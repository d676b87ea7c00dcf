/**
 * A stateful local Salesforce org (destinations.md §2) on 127.0.0.1: the OAuth refresh-token
 * endpoint, bearer sessions that can be expired (401 INVALID_SESSION_ID), `Sforce-Limit-Info:
 * api-usage=n/max` on every API answer, sObject Collections upsert by external id (≤200,
 * results in request order, per-record errors) and delete, lookup by external id, `/limits`,
 * and Bulk API 2.0 ingest jobs (create → CSV upload → UploadComplete → InProgress for a few
 * polls → JobComplete; successful/failed/unprocessed results as CSV in shuffled order — as
 * Salesforce warns — with a seeded share of unprocessed rows). Contacts link to accounts by
 * the `Account: {ExtField: value}` relationship (CSV: `Account.ExtField`); an unknown
 * account is a per-record error. Required fields (Contact LastName, Lead LastName+Company,
 * Account Name) are checked on create. Random rate-limit faults are Salesforce's 403
 * REQUEST_LIMIT_EXCEEDED. Requests are validated with zod written from the documented
 * shapes; faults and refused requests change nothing.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { parseCsv, toCsv } from '../../connectors/salesforce/csv';
import { seededRandom, startFakeServer, type FakeAnswer, type FakeServer, type FakeServerOptions } from './ad-fake-server';

export type SfValue = string | number | boolean | null;
export interface SfRecord {
  Id: string;
  fields: Record<string, SfValue>;
}

const REQUIRED: Record<string, string[]> = { Contact: ['LastName'], Lead: ['LastName', 'Company'], Account: ['Name'] };
const PREFIX: Record<string, string> = { Contact: '003', Lead: '00Q', Account: '001' };

interface Job {
  id: string;
  object: string;
  externalIdFieldName: string;
  state: 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';
  csv: string;
  polls: number;
  success: string;
  failed: string;
  unprocessed: string;
}

export interface SalesforceFake {
  url: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  server: FakeServer;
  records(sobject: string): SfRecord[];
  byExternalId(sobject: string, field: string, value: string): SfRecord | undefined;
  jobs: Map<string, Job>;
  /** Every access token issued so far stops working (the next call gets 401 INVALID_SESSION_ID). */
  expireSessions(): void;
  /** Issues a session directly (for accessToken-only configs). */
  issueToken(): string;
  setApiUsage(used: number, max?: number): void;
  refusals: Array<{ path: string; reason: string }>;
  tokenRefreshes: number;
  close(): Promise<void>;
}

export interface SalesforceFakeOptions extends FakeServerOptions {
  /** Per-record error for a record about to be saved: [statusCode, message]. */
  recordFault?: (sobject: string, fields: Record<string, SfValue>) => [string, string] | undefined;
  /** Seeded share of bulk rows left unprocessed. */
  unprocessedRate?: number;
  /** Polls a job stays InProgress. */
  pollsToComplete?: number;
}

const collectionSchema = z.strictObject({
  allOrNone: z.boolean(),
  records: z.array(z.object({ attributes: z.object({ type: z.string() }) }).passthrough()).min(1).max(200),
});
const createJobSchema = z.strictObject({
  object: z.string(),
  externalIdFieldName: z.string(),
  contentType: z.literal('CSV'),
  operation: z.literal('upsert'),
  lineEnding: z.enum(['LF', 'CRLF']).optional(),
});

export async function startSalesforceFake(options: SalesforceFakeOptions = {}): Promise<SalesforceFake> {
  const clientId = `3MVG9${randomUUID().slice(0, 8)}`;
  const clientSecret = randomUUID();
  const refreshToken = `5Aep${randomUUID()}`;
  const tokens = new Set<string>();
  const stores = new Map<string, Map<string, SfRecord>>();
  const jobs = new Map<string, Job>();
  const refusals: SalesforceFake['refusals'] = [];
  const random = seededRandom((options.seed ?? 1) + 99);
  let usage = { used: 0, max: 100_000 };
  let nextId = 1;
  let tokenRefreshes = 0;

  const store = (sobject: string) => {
    let s = stores.get(sobject);
    if (!s) stores.set(sobject, (s = new Map()));
    return s;
  };
  const byExternalId = (sobject: string, field: string, value: string) => [...store(sobject).values()].find((r) => r.fields[field] === value);
  const issueToken = () => {
    const t = `00D!${randomUUID()}`;
    tokens.add(t);
    return t;
  };
  const sfError = (status: number, errorCode: string, message: string): FakeAnswer => ({ status, body: [{ message, errorCode }] });
  const refuse = (path: string, reason: string): FakeAnswer => {
    refusals.push({ path, reason });
    return sfError(400, 'JSON_PARSER_ERROR', reason);
  };

  type Save = { id: string | null; success: boolean; created?: boolean; errors: Array<{ statusCode: string; message: string; fields: string[] }> };
  const fail = (statusCode: string, message: string, fields: string[] = []): Save => ({ id: null, success: false, errors: [{ statusCode, message, fields }] });

  /** Upserts one record by external id; `input` may hold `Account: {Field: value}`. */
  function upsert(sobject: string, extField: string, input: Record<string, unknown>): Save {
    const key = input[extField];
    if (typeof key !== 'string' || key === '') return fail('MISSING_ARGUMENT', `${extField} not specified`, [extField]);
    const fields: Record<string, SfValue> = {};
    for (const [name, value] of Object.entries(input)) {
      if (name === 'attributes') continue;
      if (value !== null && typeof value === 'object') {
        const [[relField, relValue]] = Object.entries(value as Record<string, unknown>) as [[string, unknown]];
        const relObject = name === 'Account' ? 'Account' : name;
        const target = byExternalId(relObject, relField, String(relValue));
        if (!target) return fail('INVALID_FIELD', `Foreign key external ID: ${String(relValue)} not found for field ${relField} in entity ${relObject}`, [name]);
        fields[`${name}Id`] = target.Id;
      } else fields[name] = value as SfValue;
    }
    const fault = options.recordFault?.(sobject, fields);
    if (fault) return fail(fault[0], fault[1], []);
    const existing = byExternalId(sobject, extField, key);
    if (existing) {
      Object.assign(existing.fields, fields);
      return { id: existing.Id, success: true, created: false, errors: [] };
    }
    const missing = (REQUIRED[sobject] ?? []).filter((f) => fields[f] === undefined || fields[f] === null || fields[f] === '');
    if (missing.length) return fail('REQUIRED_FIELD_MISSING', `Required fields are missing: [${missing.join(', ')}]`, missing);
    const Id = `${PREFIX[sobject] ?? 'a00'}${String(nextId++).padStart(12, '0')}AAA`;
    store(sobject).set(Id, { Id, fields });
    return { id: Id, success: true, created: true, errors: [] };
  }

  function processJob(job: Job): void {
    const [header, ...lines] = parseCsv(job.csv);
    const success: string[][] = [];
    const failed: string[][] = [];
    const unprocessed: string[][] = [];
    for (const line of lines) {
      if (random() < (options.unprocessedRate ?? 0)) {
        unprocessed.push(line);
        continue;
      }
      const input: Record<string, unknown> = {};
      header!.forEach((h, i) => {
        const v = line[i] ?? '';
        if (v === '') return; // empty: leave the field as it is
        const value = v === '#N/A' ? null : v;
        const dot = h.indexOf('.');
        if (dot > 0) input[h.slice(0, dot)] = { [h.slice(dot + 1)]: value };
        else input[h] = value;
      });
      const result = upsert(job.object, job.externalIdFieldName, input);
      if (result.success) success.push([result.id!, String(result.created), ...line]);
      else failed.push(['', result.errors.map((e) => `${e.statusCode}:${e.message}`).join(';'), ...line]);
    }
    // "Row order is not guaranteed": shuffle, so a connector matching by position fails.
    const shuffle = (rows: string[][]) => rows.sort(() => random() - 0.5);
    job.success = toCsv(['sf__Id', 'sf__Created', ...header!], shuffle(success));
    job.failed = toCsv(['sf__Id', 'sf__Error', ...header!], shuffle(failed));
    job.unprocessed = toCsv(header!, shuffle(unprocessed));
    job.state = 'JobComplete';
  }

  const jobBody = (job: Job) => ({ id: job.id, object: job.object, operation: 'upsert', state: job.state, externalIdFieldName: job.externalIdFieldName, contentType: 'CSV', apiVersion: 62.0, lineEnding: 'LF' });

  const server = await startFakeServer(
    (call) => {
      if (call.path === '/services/oauth2/token' && call.method === 'POST') {
        const form = new URLSearchParams(call.rawBody);
        if (form.get('grant_type') !== 'refresh_token' || form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret || form.get('refresh_token') !== refreshToken) {
          return { status: 400, body: { error: 'invalid_grant', error_description: 'expired access/refresh token' } };
        }
        tokenRefreshes++;
        return { status: 200, body: { access_token: issueToken(), instance_url: server.url, token_type: 'Bearer', issued_at: String(Date.now()), signature: 'x' } };
      }
      const auth = call.headers.authorization ?? '';
      if (!tokens.has(auth.replace(/^Bearer /, ''))) return sfError(401, 'INVALID_SESSION_ID', 'Session expired or invalid');
      usage.used++;
      const headers = { 'sforce-limit-info': `api-usage=${usage.used}/${usage.max}` };
      const answer = route(call);
      return { ...answer, headers: { ...answer.headers, ...headers } };
    },
    () => sfError(403, 'REQUEST_LIMIT_EXCEEDED', 'ConcurrentPerOrgLongTxn Limit exceeded.'),
    options,
  );

  function route(call: Parameters<Parameters<typeof startFakeServer>[0]>[0]): FakeAnswer {
    const m = /^\/services\/data\/v(\d+\.\d)(\/.*)$/.exec(call.path);
    if (!m) return sfError(404, 'NOT_FOUND', 'The requested resource does not exist');
    const rest = m[2]!;
    let p: RegExpExecArray | null;
    if (rest === '/limits' && call.method === 'GET') return { status: 200, body: { DailyApiRequests: { Max: usage.max, Remaining: usage.max - usage.used } } };
    if ((p = /^\/composite\/sobjects\/(\w+)\/(\w+)$/.exec(rest)) && call.method === 'PATCH') {
      const parsed = collectionSchema.safeParse(call.body);
      if (!parsed.success) return refuse(call.path, parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; '));
      if (parsed.data.records.some((r) => r.attributes.type !== p![1])) return refuse(call.path, 'every record must have attributes.type equal to the sObject in the URL');
      const keys = parsed.data.records.map((r) => (r as Record<string, unknown>)[p![2]!]);
      if (new Set(keys).size !== keys.length) return refuse(call.path, 'duplicate external id in one request');
      return { status: 200, body: parsed.data.records.map((r) => upsert(p![1]!, p![2]!, r as Record<string, unknown>)) };
    }
    if (rest === '/composite/sobjects' && call.method === 'DELETE') {
      const ids = (call.query.get('ids') ?? '').split(',').filter(Boolean);
      if (ids.length === 0 || ids.length > 200) return refuse(call.path, `ids must hold 1..200 ids, not ${ids.length}`);
      return {
        status: 200,
        body: ids.map((id) => {
          for (const s of stores.values()) if (s.delete(id)) return { id, success: true, errors: [] };
          return { id, success: false, errors: [{ statusCode: 'ENTITY_IS_DELETED', message: 'entity is deleted', fields: [] }] };
        }),
      };
    }
    if ((p = /^\/sobjects\/(\w+)\/(\w+)\/(.+)$/.exec(rest)) && call.method === 'GET') {
      const found = byExternalId(p[1]!, p[2]!, p[3]!);
      return found ? { status: 200, body: { attributes: { type: p[1] }, Id: found.Id } } : sfError(404, 'NOT_FOUND', 'The requested resource does not exist');
    }
    if (rest === '/jobs/ingest' && call.method === 'POST') {
      const parsed = createJobSchema.safeParse(call.body);
      if (!parsed.success) return refuse(call.path, parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; '));
      const job: Job = { id: `750${String(nextId++).padStart(12, '0')}`, ...parsed.data, state: 'Open', csv: '', polls: 0, success: '', failed: '', unprocessed: '' };
      jobs.set(job.id, job);
      return { status: 200, body: jobBody(job) };
    }
    if ((p = /^\/jobs\/ingest\/(\w+)(\/.*)?$/.exec(rest))) {
      const job = jobs.get(p[1]!);
      if (!job) return sfError(404, 'NOT_FOUND', 'The requested resource does not exist');
      const sub = p[2] ?? '';
      if (sub === '/batches' && call.method === 'PUT') {
        if (job.state !== 'Open') return sfError(400, 'INVALIDJOBSTATE', `Job is in state ${job.state}`);
        if (!/text\/csv/.test(call.headers['content-type'] ?? '')) return refuse(call.path, 'Content-Type must be text/csv');
        const header = parseCsv(call.rawBody)[0] ?? [];
        if (!header.includes(job.externalIdFieldName)) return refuse(call.path, `the CSV header lacks the external id column ${job.externalIdFieldName}`);
        job.csv = call.rawBody;
        return { status: 201 };
      }
      if (sub === '' && call.method === 'PATCH') {
        const state = z.object({ state: z.enum(['UploadComplete', 'Aborted']) }).safeParse(call.body);
        if (!state.success) return refuse(call.path, 'state must be UploadComplete or Aborted');
        if (state.data.state === 'UploadComplete' && job.state !== 'Open') return sfError(400, 'INVALIDJOBSTATE', `Job is in state ${job.state}`);
        if (state.data.state === 'Aborted' && ['JobComplete', 'Failed'].includes(job.state)) return sfError(400, 'INVALIDJOBSTATE', `Job is in state ${job.state}`);
        job.state = state.data.state;
        return { status: 200, body: jobBody(job) };
      }
      if (sub === '' && call.method === 'GET') {
        if (job.state === 'UploadComplete' || job.state === 'InProgress') {
          job.state = 'InProgress';
          if (++job.polls > (options.pollsToComplete ?? 1)) processJob(job);
        }
        return { status: 200, body: jobBody(job) };
      }
      const results: Record<string, keyof Job> = { '/successfulResults/': 'success', '/failedResults/': 'failed', '/unprocessedrecords/': 'unprocessed' };
      if (call.method === 'GET' && results[sub]) {
        if (job.state !== 'JobComplete') return sfError(400, 'INVALIDJOBSTATE', 'results are available when the job is complete');
        return { status: 200, text: job[results[sub]] as string, headers: { 'content-type': 'text/csv' } };
      }
    }
    return sfError(404, 'NOT_FOUND', `no route ${call.method} ${rest}`);
  }

  return {
    url: server.url,
    tokenUrl: `${server.url}/services/oauth2/token`,
    clientId,
    clientSecret,
    refreshToken,
    server,
    records: (sobject) => [...store(sobject).values()],
    byExternalId,
    jobs,
    expireSessions: () => tokens.clear(),
    issueToken,
    setApiUsage: (used, max = usage.max) => (usage = { used, max }),
    refusals,
    get tokenRefreshes() {
      return tokenRefreshes;
    },
    close: () => server.close(),
  };
}
