/**
 * A stateful local Salesforce org (destinations.md §2) on 127.0.0.1: the OAuth refresh-token
 * endpoint, bearer sessions that can be expired (401 INVALID_SESSION_ID), `Sforce-Limit-Info:
 * api-usage=n/max` on every API answer, sObject Collections (≤200, results in request order,
 * per-record errors) upsert by external id, create (`POST`; a taken external id is
 * DUPLICATE_VALUE — the field is unique, as External ID fields usually are), update by record
 * id (`PATCH` with `id`; an unknown id is ENTITY_IS_DELETED) and delete, lookup by external
 * id (REST and the SOQL `SELECT Id, F FROM O WHERE F IN (…)` the connector sends, paged),
 * `/limits`, and Bulk API 2.0 ingest jobs for upsert, insert, delete and hardDelete (create →
 * CSV upload → UploadComplete → InProgress for a few polls → JobComplete; successful/failed/
 * unprocessed results as CSV in shuffled order — as Salesforce warns — with a seeded share
 * of unprocessed rows; deletes read an `Id` column). Contacts link to accounts by
 * the `Account: {ExtField: value}` relationship (CSV: `Account.ExtField`); an unknown
 * account is a per-record error. Required fields (Contact LastName, Lead LastName+Company,
 * Account Name) are checked on create. Random rate-limit faults are Salesforce's 403
 * REQUEST_LIMIT_EXCEEDED. Requests are validated with zod written from the documented
 * shapes; faults and refused requests change nothing.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { parseCsv, toCsv } from '../../connectors/kit/csv';
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
  operation: 'upsert' | 'insert' | 'delete' | 'hardDelete';
  externalIdFieldName?: string;
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
  /** Rows per SOQL answer page (Salesforce's default is 2,000). */
  queryPageSize?: number;
}

const collectionSchema = z.strictObject({
  allOrNone: z.boolean(),
  records: z.array(z.object({ attributes: z.object({ type: z.string() }) }).passthrough()).min(1).max(200),
});
const createJobSchema = z.strictObject({
  object: z.string(),
  externalIdFieldName: z.string().optional(),
  contentType: z.literal('CSV'),
  operation: z.enum(['upsert', 'insert', 'delete', 'hardDelete']),
  lineEnding: z.enum(['LF', 'CRLF']).optional(),
}).refine((j) => (j.operation === 'upsert') === (j.externalIdFieldName !== undefined), { message: 'externalIdFieldName is required for upsert and only for upsert' });

export async function startSalesforceFake(options: SalesforceFakeOptions = {}): Promise<SalesforceFake> {
  const clientId = `3MVG9${randomUUID().slice(0, 8)}`;
  const clientSecret = randomUUID();
  const refreshToken = `5Aep${randomUUID()}`;
  const tokens = new Set<string>();
  const stores = new Map<string, Map<string, SfRecord>>();
  const jobs = new Map<string, Job>();
  const cursors = new Map<string, unknown[]>();
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

  /**
   * The fields a body sets, relationship objects (`Account: {Ext__c: v}`) resolved to their
   * `<name>Id`; a failure when one names no record or the test's recordFault refuses the row.
   */
  function resolveFields(sobject: string, input: Record<string, unknown>, skip: readonly string[]): { fields: Record<string, SfValue> } | { failure: Save } {
    const fields: Record<string, SfValue> = {};
    for (const [name, value] of Object.entries(input)) {
      if (name === 'attributes' || skip.includes(name)) continue;
      if (value !== null && typeof value === 'object') {
        const [[relField, relValue]] = Object.entries(value as Record<string, unknown>) as [[string, unknown]];
        const target = byExternalId(name, relField, String(relValue));
        if (!target) return { failure: fail('INVALID_FIELD', `Foreign key external ID: ${String(relValue)} not found for field ${relField} in entity ${name}`, [name]) };
        fields[`${name}Id`] = target.Id;
      } else fields[name] = value as SfValue;
    }
    const fault = options.recordFault?.(sobject, fields);
    return fault ? { failure: fail(fault[0], fault[1], []) } : { fields };
  }

  /** Stores a new record once its required fields are there. */
  function storeNew(sobject: string, fields: Record<string, SfValue>): Save {
    const missing = (REQUIRED[sobject] ?? []).filter((f) => fields[f] === undefined || fields[f] === null || fields[f] === '');
    if (missing.length) return fail('REQUIRED_FIELD_MISSING', `Required fields are missing: [${missing.join(', ')}]`, missing);
    const Id = `${PREFIX[sobject] ?? 'a00'}${String(nextId++).padStart(12, '0')}AAA`;
    store(sobject).set(Id, { Id, fields });
    return { id: Id, success: true, errors: [] };
  }

  /** Upserts one record by external id; `input` may hold `Account: {Field: value}`. */
  function upsert(sobject: string, extField: string, input: Record<string, unknown>): Save {
    const key = input[extField];
    if (typeof key !== 'string' || key === '') return fail('MISSING_ARGUMENT', `${extField} not specified`, [extField]);
    const resolved = resolveFields(sobject, input, []);
    if ('failure' in resolved) return resolved.failure;
    const existing = byExternalId(sobject, extField, key);
    if (existing) {
      Object.assign(existing.fields, resolved.fields);
      return { id: existing.Id, success: true, created: false, errors: [] };
    }
    const saved = storeNew(sobject, resolved.fields);
    return saved.success ? { ...saved, created: true } : saved;
  }

  /** Creates one record (insert): required fields, a unique external id, relationships resolved. */
  function create(sobject: string, input: Record<string, unknown>, extField?: string): Save {
    if (extField) {
      const key = input[extField];
      const taken = typeof key === 'string' && key !== '' ? byExternalId(sobject, extField, key) : undefined;
      if (taken) return fail('DUPLICATE_VALUE', `duplicate value found: ${extField} duplicates value on record with id: ${taken.Id}`, [extField]);
    }
    const resolved = resolveFields(sobject, input, []);
    return 'failure' in resolved ? resolved.failure : storeNew(sobject, resolved.fields);
  }

  /** Updates one record by its id; relationship objects resolved like upsert. */
  function update(sobject: string, input: Record<string, unknown>): Save {
    const id = input.id ?? input.Id;
    const existing = typeof id === 'string' ? store(sobject).get(id) : undefined;
    if (!existing) return fail('ENTITY_IS_DELETED', 'entity is deleted', []);
    const resolved = resolveFields(sobject, input, ['id', 'Id']);
    if ('failure' in resolved) return resolved.failure;
    Object.assign(existing.fields, resolved.fields);
    return { id: existing.Id, success: true, errors: [] };
  }

  function removeRecord(id: string): Save {
    for (const st of stores.values()) if (st.delete(id)) return { id, success: true, errors: [] };
    return { id, success: false, errors: [{ statusCode: 'ENTITY_IS_DELETED', message: 'entity is deleted', fields: [] }] };
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
      const result =
        job.operation === 'upsert'
          ? upsert(job.object, job.externalIdFieldName!, input)
          : job.operation === 'insert'
            ? create(job.object, input, 'External_Id__c' in input ? 'External_Id__c' : undefined)
            : typeof input.Id === 'string'
              ? removeRecord(input.Id)
              : fail('MISSING_ARGUMENT', 'Id not specified', ['Id']);
      if (result.success) success.push([result.id!, String(job.operation === 'insert' || Boolean(result.created)), ...line]);
      else failed.push(['', result.errors.map((e) => `${e.statusCode}:${e.message}`).join(';'), ...line]);
    }
    // "Row order is not guaranteed": shuffle, so a connector matching by position fails.
    const shuffle = (rows: string[][]) => rows.sort(() => random() - 0.5);
    job.success = toCsv(['sf__Id', 'sf__Created', ...header!], shuffle(success));
    job.failed = toCsv(['sf__Id', 'sf__Error', ...header!], shuffle(failed));
    job.unprocessed = toCsv(header!, shuffle(unprocessed));
    job.state = 'JobComplete';
  }

  const jobBody = (job: Job) => ({ id: job.id, object: job.object, operation: job.operation, state: job.state, ...(job.externalIdFieldName ? { externalIdFieldName: job.externalIdFieldName } : {}), contentType: 'CSV', apiVersion: 62.0, lineEnding: 'LF' });

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
      return { status: 200, body: ids.map(removeRecord) };
    }
    if (rest === '/composite/sobjects' && (call.method === 'POST' || call.method === 'PATCH')) {
      const parsed = collectionSchema.safeParse(call.body);
      if (!parsed.success) return refuse(call.path, parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; '));
      const records = parsed.data.records as Array<Record<string, unknown> & { attributes: { type: string } }>;
      if (call.method === 'PATCH' && records.some((r) => typeof r.id !== 'string')) return refuse(call.path, 'an update collection needs the id of every record');
      if (call.method === 'POST' && records.some((r) => 'id' in r || 'Id' in r)) return refuse(call.path, 'a create collection must not carry record ids');
      return { status: 200, body: records.map((r) => (call.method === 'POST' ? create(r.attributes.type, r, 'External_Id__c' in r ? 'External_Id__c' : undefined) : update(r.attributes.type, r))) };
    }
    if (rest === '/query' && call.method === 'GET') {
      const soql = call.query.get('q') ?? '';
      const m = /^SELECT Id, (\w+) FROM (\w+) WHERE (\w+) IN \((.*)\)$/.exec(soql);
      if (!m || m[1] !== m[3]) return refuse(call.path, `the fake reads only SELECT Id, F FROM O WHERE F IN (…), not: ${soql}`);
      const values = [...m[4]!.matchAll(/'((?:[^'\\]|\\.)*)'/g)].map((v) => v[1]!.replace(/\\(.)/g, '$1'));
      const records = values.map((v) => byExternalId(m[2]!, m[1]!, v)).filter((r): r is SfRecord => r !== undefined).map((r) => ({ attributes: { type: m[2], url: `/services/data/v62.0/sobjects/${m[2]}/${r.Id}` }, Id: r.Id, [m[1]!]: r.fields[m[1]!] }));
      const page = options.queryPageSize ?? 2_000;
      const cursor = `01g${String(nextId++).padStart(15, '0')}`;
      if (records.length > page) cursors.set(cursor, records.slice(page));
      return { status: 200, body: { totalSize: records.length, done: records.length <= page, ...(records.length > page ? { nextRecordsUrl: `/services/data/v62.0/query/${cursor}-${page}` } : {}), records: records.slice(0, page) } };
    }
    if ((p = /^\/query\/(\w+)-(\d+)$/.exec(rest)) && call.method === 'GET') {
      const remaining = cursors.get(p[1]!) ?? [];
      const page = options.queryPageSize ?? 2_000;
      cursors.delete(p[1]!);
      const cursor = `01g${String(nextId++).padStart(15, '0')}`;
      if (remaining.length > page) cursors.set(cursor, remaining.slice(page));
      return { status: 200, body: { totalSize: remaining.length, done: remaining.length <= page, ...(remaining.length > page ? { nextRecordsUrl: `/services/data/v62.0/query/${cursor}-${page}` } : {}), records: remaining.slice(0, page) } };
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
        if (job.externalIdFieldName && !header.includes(job.externalIdFieldName)) return refuse(call.path, `the CSV header lacks the external id column ${job.externalIdFieldName}`);
        if ((job.operation === 'delete' || job.operation === 'hardDelete') && (header.length !== 1 || header[0] !== 'Id')) return refuse(call.path, `a ${job.operation} job's CSV has exactly one column, Id (got ${header.join(',')})`);
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
