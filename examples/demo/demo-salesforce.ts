/**
 * The demo's stand-in for a Salesforce org: a small server on 127.0.0.1 speaking the part of
 * Salesforce's REST API the demo's B2B syncs use — the OAuth refresh-token endpoint (its
 * answer names this server as the instance URL), bearer sessions, `/limits`, sObject
 * Collections upsert by external id (≤200 records, results in request order, `Account:
 * {External_Id__c: …}` relationships resolved to AccountId, required fields checked on
 * create), SOQL lookups of ids by external id, and Collections delete. No Bulk API: the demo
 * syncs keep every batch on Collections (`bulkThreshold`). The full fake with Bulk jobs and
 * injected faults is test/fakes/salesforce-fake.ts. Started and stopped by `cdp demo`.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export type DemoSfValue = string | number | boolean | null;

export interface DemoSalesforceRecord {
  Id: string;
  fields: Record<string, DemoSfValue>;
}

export interface DemoSalesforce {
  /** The instance URL (also the token endpoint's host). */
  url: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  requests: number;
  records(sobject: string): DemoSalesforceRecord[];
  byExternalId(sobject: string, field: string, value: string): DemoSalesforceRecord | undefined;
  byId(id: string): DemoSalesforceRecord | undefined;
  close(): Promise<void>;
}

const REQUIRED: Record<string, string[]> = { Contact: ['LastName'], Lead: ['LastName', 'Company'], Account: ['Name'] };
const PREFIX: Record<string, string> = { Contact: '003', Lead: '00Q', Account: '001' };

type SaveResult = { id: string | null; success: boolean; created?: boolean; errors: Array<{ statusCode: string; message: string; fields: string[] }> };
const failed = (statusCode: string, message: string, fields: string[] = []): SaveResult => ({ id: null, success: false, errors: [{ statusCode, message, fields }] });

export async function startDemoSalesforce(): Promise<DemoSalesforce> {
  const clientId = 'demo-connected-app';
  const clientSecret = randomUUID();
  const refreshToken = `demo-refresh-${randomUUID()}`;
  const sessions = new Set<string>();
  const stores = new Map<string, Map<string, DemoSalesforceRecord>>();
  // sobject|field|value → record id, so lookups stay O(1) at any demo size.
  const externalIndex = new Map<string, string>();
  let nextId = 1;

  const store = (sobject: string) => {
    let s = stores.get(sobject);
    if (!s) stores.set(sobject, (s = new Map()));
    return s;
  };
  const byExternalId = (sobject: string, field: string, value: string) => {
    const id = externalIndex.get(`${sobject}|${field}|${value}`);
    return id === undefined ? undefined : store(sobject).get(id);
  };

  function upsert(sobject: string, extField: string, input: Record<string, unknown>): SaveResult {
    const key = input[extField];
    if (typeof key !== 'string' || key === '') return failed('MISSING_ARGUMENT', `${extField} not specified`, [extField]);
    const fields: Record<string, DemoSfValue> = {};
    for (const [name, value] of Object.entries(input)) {
      if (name === 'attributes') continue;
      if (value !== null && typeof value === 'object') {
        // A relationship by external id: `Account: { External_Id__c: 'co_000042' }` → AccountId.
        const [relField, relValue] = Object.entries(value as Record<string, unknown>)[0] ?? [];
        const target = relField === undefined ? undefined : byExternalId(name, relField, String(relValue));
        if (!target) return failed('INVALID_FIELD', `Foreign key external ID: ${String(relValue)} not found for field ${String(relField)} in entity ${name}`, [name]);
        fields[`${name}Id`] = target.Id;
      } else fields[name] = value as DemoSfValue;
    }
    const existing = byExternalId(sobject, extField, key);
    if (existing) {
      Object.assign(existing.fields, fields);
      return { id: existing.Id, success: true, created: false, errors: [] };
    }
    const missing = (REQUIRED[sobject] ?? []).filter((f) => fields[f] === undefined || fields[f] === null || fields[f] === '');
    if (missing.length) return failed('REQUIRED_FIELD_MISSING', `Required fields are missing: [${missing.join(', ')}]`, missing);
    const Id = `${PREFIX[sobject] ?? 'a00'}${String(nextId++).padStart(12, '0')}AAA`;
    store(sobject).set(Id, { Id, fields });
    externalIndex.set(`${sobject}|${extField}|${key}`, Id);
    return { id: Id, success: true, created: true, errors: [] };
  }

  function remove(id: string): SaveResult {
    for (const [sobject, s] of stores) {
      const record = s.get(id);
      if (!record) continue;
      s.delete(id);
      for (const [field, value] of Object.entries(record.fields)) externalIndex.delete(`${sobject}|${field}|${String(value)}`);
      return { id, success: true, errors: [] };
    }
    return { id, success: false, errors: [{ statusCode: 'ENTITY_IS_DELETED', message: 'entity is deleted', fields: [] }] };
  }

  type Answer = { status: number; body?: unknown };
  const sfError = (status: number, errorCode: string, message: string): Answer => ({ status, body: [{ message, errorCode }] });

  function route(method: string, path: string, query: URLSearchParams, body: unknown): Answer {
    const m = /^\/services\/data\/v\d+\.\d(\/.*)$/.exec(path);
    if (!m) return sfError(404, 'NOT_FOUND', 'The requested resource does not exist');
    const rest = m[1]!;
    let p: RegExpExecArray | null;
    if (rest === '/limits' && method === 'GET') return { status: 200, body: { DailyApiRequests: { Max: 100_000, Remaining: 100_000 - receiver.requests } } };
    if ((p = /^\/composite\/sobjects\/(\w+)\/(\w+)$/.exec(rest)) && method === 'PATCH') {
      const records = (body as { records?: Array<Record<string, unknown>> } | undefined)?.records;
      if (!Array.isArray(records) || records.length === 0 || records.length > 200) return sfError(400, 'JSON_PARSER_ERROR', 'records: 1 to 200 records of one sObject');
      return { status: 200, body: records.map((r) => upsert(p![1]!, p![2]!, r)) };
    }
    if (rest === '/composite/sobjects' && method === 'DELETE') {
      const ids = (query.get('ids') ?? '').split(',').filter(Boolean);
      if (ids.length === 0 || ids.length > 200) return sfError(400, 'INVALID_FIELD', 'ids: 1 to 200 record ids');
      return { status: 200, body: ids.map(remove) };
    }
    if (rest === '/query' && method === 'GET') {
      const q = /^SELECT Id, (\w+) FROM (\w+) WHERE (\w+) IN \((.*)\)$/.exec(query.get('q') ?? '');
      if (!q || q[1] !== q[3]) return sfError(400, 'MALFORMED_QUERY', 'this stand-in answers only SELECT Id, F FROM O WHERE F IN (…)');
      const values = [...q[4]!.matchAll(/'((?:[^'\\]|\\.)*)'/g)].map((v) => v[1]!.replace(/\\(.)/g, '$1'));
      const records = values.map((v) => byExternalId(q[2]!, q[1]!, v)).filter((r) => r !== undefined).map((r) => ({ attributes: { type: q[2] }, Id: r.Id, [q[1]!]: r.fields[q[1]!] }));
      return { status: 200, body: { totalSize: records.length, done: true, records } };
    }
    return sfError(404, 'NOT_FOUND', `this stand-in has no ${method} ${rest}`);
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      let answer: Answer;
      if (url.pathname === '/services/oauth2/token' && req.method === 'POST') {
        const form = new URLSearchParams(raw);
        if (form.get('grant_type') !== 'refresh_token' || form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret || form.get('refresh_token') !== refreshToken) {
          answer = { status: 400, body: { error: 'invalid_grant', error_description: 'expired access/refresh token' } };
        } else {
          const token = `00Ddemo!${randomUUID()}`;
          sessions.add(token);
          answer = { status: 200, body: { access_token: token, instance_url: receiver.url, token_type: 'Bearer', issued_at: String(Date.now()), signature: 'demo' } };
        }
      } else if (!sessions.has(String(req.headers.authorization ?? '').replace(/^Bearer /, ''))) {
        answer = sfError(401, 'INVALID_SESSION_ID', 'Session expired or invalid');
      } else {
        receiver.requests++;
        let body: unknown;
        try {
          body = raw === '' ? undefined : (JSON.parse(raw) as unknown);
        } catch {
          body = undefined;
        }
        answer = route(req.method ?? 'GET', decodeURIComponent(url.pathname), url.searchParams, body);
      }
      const headers: Record<string, string> = { 'content-type': 'application/json', 'sforce-limit-info': `api-usage=${receiver.requests}/100000` };
      res.writeHead(answer.status, headers).end(answer.body === undefined ? '' : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const receiver: DemoSalesforce = {
    url,
    tokenUrl: `${url}/services/oauth2/token`,
    clientId,
    clientSecret,
    refreshToken,
    requests: 0,
    records: (sobject) => [...store(sobject).values()],
    byExternalId,
    byId: (id) => {
      for (const s of stores.values()) if (s.has(id)) return s.get(id);
      return undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return receiver;
}
