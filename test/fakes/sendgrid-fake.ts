/**
 * `startSendgridFake`: a stateful local SendGrid Marketing Campaigns API (node:http on
 * 127.0.0.1, random port) behaving as documented for what the sendgrid connector uses:
 * contacts keyed by lowercased email, async upsert jobs (`PUT /v3/marketing/contacts` → 202
 * job_id; the job completes after `jobDelayMs` and only then changes state; status
 * pending/completed/errored/failed with an error file at `errors_url`), synchronous 400s
 * naming `contacts[i].field`, 30,000 contacts / 6 MB per request, email search (≤100),
 * list removal, lists, custom field definitions, bearer auth (401 unknown key, 403 key
 * without Marketing access), a sliding-window limiter answering 429 with SendGrid's body and
 * X-RateLimit-* headers, and injectable faults.
 *
 * Invariants: EVERY request to the API is validated against ../shared/specs/sendgrid/*.json
 * before it is served; a request the spec refuses gets 400 and is logged with the reasons
 * (`validationFailures()` — tests assert it is empty). Two documented SendGrid resources are
 * not in the copied spec files and are served without spec validation, named here so it is
 * never silent: `GET /v3/marketing/field_definitions` and the error-file download at
 * `errors_url` (a separate file URL in production). State changes only through requests that
 * passed auth, the limiter, faults and validation — and, for upserts, only when the job runs.
 */
import http from 'node:http';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { OpenApiValidator, type LoggedRequest, type MatchedOperation } from './openapi-validator';

export const SENDGRID_SPEC_DIR = path.join(__dirname, '..', '..', '..', 'shared', 'specs', 'sendgrid');
export const SENDGRID_MAX_BYTES = 6 * 1024 * 1024;
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface SendgridFakeContact {
  id: string;
  email: string;
  /** Reserved fields (first_name …) as stored. */
  fields: Record<string, string | string[]>;
  /** Custom field values by field *name* (stored by id in SendGrid; names are easier to assert). */
  custom: Record<string, string | number>;
  listIds: Set<string>;
}

export type { LoggedRequest } from './openapi-validator';

export interface SendgridFakeOptions {
  apiKey?: string;
  /** A key SendGrid knows but without Marketing access (403). */
  restrictedKey?: string;
  rateLimit?: { count: number; perMs: number };
  /** How long a job stays `pending` before it runs. */
  jobDelayMs?: number;
  specDir?: string;
}

export interface SendgridFake {
  url: string;
  apiKey: string;
  restrictedKey: string;
  readonly requests: LoggedRequest[];
  validationFailures(): LoggedRequest[];
  responseValidationFailures(): LoggedRequest[];
  contacts(): SendgridFakeContact[];
  contact(email: string): SendgridFakeContact | undefined;
  createList(name: string): string;
  listMembers(listId: string): string[];
  defineCustomField(name: string, type: 'Text' | 'Number' | 'Date'): string;
  /** The next `count` requests (after auth) get this status (429 with Retry-After when given). */
  failNext(count: number, status: number, retryAfterSeconds?: number): void;
  /** A job-level error for contacts this returns a message for. */
  setRecordFault(fault: ((email: string) => string | undefined) | undefined): void;
  setJobDelay(ms: number): void;
  setRateLimit(limit: { count: number; perMs: number }): void;
  jobs(): Array<{ id: string; status: string; requested: number }>;
  close(): Promise<void>;
}

interface JsonResponse {
  status: number;
  body?: unknown;
  text?: string;
  headers?: Record<string, string>;
  fault?: LoggedRequest['fault'];
}

interface Job {
  id: string;
  status: 'pending' | 'completed' | 'errored' | 'failed';
  runAt: number;
  contacts: Array<Record<string, unknown>>;
  listIds: string[];
  results?: { requested_count: number; created_count: number; updated_count: number; errored_count: number; errors_url?: string };
  errorsCsv?: string;
  startedAt: string;
  finishedAt?: string;
}

const RESERVED = ['first_name', 'last_name', 'address_line_1', 'address_line_2', 'city', 'state_province_region', 'postal_code', 'country', 'external_id', 'phone_number_id', 'anonymous_id', 'alternate_emails'];

export async function startSendgridFake(options: SendgridFakeOptions = {}): Promise<SendgridFake> {
  // custom_fields is documented as a map of field id → value, but typed with one example key.
  const validator = OpenApiValidator.fromDirectory(options.specDir ?? SENDGRID_SPEC_DIR, { freeFormObjects: [/^body\.contacts\[\d+\]\.custom_fields$/] });
  const apiKey = options.apiKey ?? `SG.${randomUUID()}`;
  const restrictedKey = options.restrictedKey ?? `SG.restricted-${randomUUID()}`;
  let rateLimit = options.rateLimit ?? { count: 600, perMs: 60_000 };
  let jobDelayMs = options.jobDelayMs ?? 20;
  const contacts = new Map<string, SendgridFakeContact>(); // by email
  const lists = new Map<string, { id: string; name: string }>();
  const customFields = new Map<string, { id: string; name: string; field_type: 'Text' | 'Number' | 'Date' }>(); // by id
  const jobs = new Map<string, Job>();
  const requests: LoggedRequest[] = [];
  let faults: Array<{ status: number; retryAfterSeconds?: number }> = [];
  let recordFault: ((email: string) => string | undefined) | undefined;
  let window: number[] = [];
  let seq = 0;
  let nextField = 1;
  let baseUrl = '';

  const errorBody = (message: string, field: string | null = null) => ({ errors: [{ field, message }] });
  const now = () => new Date().toISOString();

  /** Runs every job whose time has come (SendGrid processes jobs in the background). */
  function runDueJobs(): void {
    for (const job of jobs.values()) if (job.status === 'pending' && Date.now() >= job.runAt) runJob(job);
  }

  function runJob(job: Job): void {
    let created = 0;
    let updated = 0;
    const errors: Array<[string, string]> = [];
    for (const input of job.contacts) {
      const email = String(input.email ?? '').toLowerCase();
      const custom = (input.custom_fields ?? {}) as Record<string, string | number>;
      let problem = recordFault?.(email);
      for (const [id, value] of Object.entries(custom)) {
        const def = customFields.get(id);
        if (!def) problem ??= `custom field ID ${id} does not exist`;
        else if (def.field_type === 'Number' && typeof value !== 'number') problem ??= `custom field ${def.name} expects a number`;
      }
      if (problem) {
        errors.push([email, problem]);
        continue;
      }
      let contact = contacts.get(email);
      if (contact) updated++;
      else {
        created++;
        contact = { id: randomUUID(), email, fields: {}, custom: {}, listIds: new Set() };
        contacts.set(email, contact);
      }
      for (const name of RESERVED) {
        const value = input[name];
        if (value === undefined) continue;
        if (value === '') delete contact.fields[name];
        else contact.fields[name] = value as string | string[];
      }
      for (const [id, value] of Object.entries(custom)) {
        const def = customFields.get(id)!;
        if (value === '') delete contact.custom[def.name];
        else contact.custom[def.name] = value;
      }
      for (const listId of job.listIds) contact.listIds.add(listId);
    }
    job.status = errors.length === 0 ? 'completed' : errors.length === job.contacts.length ? 'failed' : 'errored';
    job.finishedAt = now();
    job.results = { requested_count: job.contacts.length, created_count: created, updated_count: updated, errored_count: errors.length };
    if (errors.length > 0) {
      job.errorsCsv = ['email,errors', ...errors.map(([email, message]) => `"${email.replace(/"/g, '""')}","${message.replace(/"/g, '""')}"`)].join('\n');
      job.results.errors_url = `${baseUrl}/__files/errors/${job.id}.csv`;
    }
  }

  function upsert(body: { list_ids?: string[]; contacts: Array<Record<string, unknown>> }, rawBytes: number): JsonResponse {
    if (rawBytes > SENDGRID_MAX_BYTES) return { status: 413, body: errorBody('request body is larger than 6 MB') };
    const errors: Array<{ field: string; message: string }> = [];
    (body.list_ids ?? []).forEach((id, i) => {
      if (!lists.has(id)) errors.push({ field: `list_ids[${i}]`, message: `list ${id} does not exist` });
    });
    const seen = new Set<string>();
    body.contacts.forEach((contact, i) => {
      const email = typeof contact.email === 'string' ? contact.email : undefined;
      if (email === undefined) errors.push({ field: `contacts[${i}]`, message: 'a contact needs an identifier (email, phone_number_id, external_id or anonymous_id)' });
      else if (!EMAIL_PATTERN.test(email) || email.includes('..')) errors.push({ field: `contacts[${i}].email`, message: 'email address is invalid' });
      else if (seen.has(email.toLowerCase())) errors.push({ field: `contacts[${i}].email`, message: 'duplicate email in the request' });
      else seen.add(email.toLowerCase());
    });
    if (errors.length > 0) return { status: 400, body: { errors } };
    const job: Job = { id: randomUUID(), status: 'pending', runAt: Date.now() + jobDelayMs, contacts: body.contacts, listIds: body.list_ids ?? [], startedAt: now() };
    jobs.set(job.id, job);
    return { status: 202, body: { job_id: job.id } };
  }

  function serve(method: string, match: MatchedOperation | undefined, pathname: string, validationErrors: string[], authorization: string | undefined, query: URLSearchParams, body: unknown, rawBytes: number): JsonResponse {
    // The error file lives at its own URL in production (no API key needed to download it).
    const file = /^\/__files\/errors\/([^/]+)\.csv$/.exec(pathname);
    if (method === 'GET' && file) {
      const job = jobs.get(file[1]!);
      return job?.errorsCsv ? { status: 200, text: job.errorsCsv, headers: { 'content-type': 'text/csv' } } : { status: 404, text: 'not found' };
    }
    if (authorization !== `Bearer ${apiKey}` && authorization !== `Bearer ${restrictedKey}`) return { status: 401, body: errorBody('authorization required'), fault: 'auth' };
    if (authorization === `Bearer ${restrictedKey}`) return { status: 403, body: errorBody('access forbidden'), fault: 'auth' };
    const cutoff = Date.now() - rateLimit.perMs;
    window = window.filter((t) => t > cutoff);
    if (window.length >= rateLimit.count) {
      const reset = Math.ceil((window[0]! + rateLimit.perMs) / 1000);
      return { status: 429, body: errorBody('too many requests'), headers: { 'x-ratelimit-limit': String(rateLimit.count), 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) }, fault: 'rate_limit' };
    }
    window.push(Date.now());
    const fault = faults.shift();
    if (fault) {
      const headers: Record<string, string> = fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {};
      return { status: fault.status, body: errorBody(fault.status === 429 ? 'too many requests' : 'internal server error'), headers, fault: 'injected' };
    }
    runDueJobs();
    if (method === 'GET' && pathname === '/v3/marketing/field_definitions') {
      return { status: 200, body: { custom_fields: [...customFields.values()], reserved_fields: RESERVED.map((name) => ({ id: `_rf_${name}`, name, field_type: 'Text', read_only: false })) } };
    }
    if (!match) return { status: 404, body: errorBody(`no route ${method} ${pathname}`) };
    if (validationErrors.length > 0) return { status: 400, body: { errors: validationErrors.map((message) => ({ field: null, message })) } };
    const key = `${method} ${match.template}`;
    const params = match.pathParams;
    switch (key) {
      case 'GET /v3/marketing/contacts/count':
        return { status: 200, body: { contact_count: contacts.size, billable_count: contacts.size } };
      case 'PUT /v3/marketing/contacts':
        return upsert(body as { list_ids?: string[]; contacts: Array<Record<string, unknown>> }, rawBytes);
      case 'GET /v3/marketing/contacts/imports/{id}': {
        const job = jobs.get(params.id!);
        if (!job) return { status: 404, body: errorBody(`job ${params.id} not found`) };
        const answer: Record<string, unknown> = { id: job.id, status: job.status, job_type: 'upsert', started_at: job.startedAt };
        if (job.results) answer.results = job.results;
        if (job.finishedAt) answer.finished_at = job.finishedAt;
        return { status: 200, body: answer };
      }
      case 'POST /v3/marketing/contacts/search/emails': {
        const emails = (body as { emails: string[] }).emails;
        if (emails.length > 100) return { status: 400, body: errorBody('at most 100 emails per request', 'emails') };
        const result: Record<string, unknown> = {};
        for (const email of emails) {
          const contact = contacts.get(email.toLowerCase());
          if (contact) result[email] = { contact: { id: contact.id, email: contact.email, list_ids: [...contact.listIds], segment_ids: [], created_at: now(), updated_at: now() } };
          else result[email] = { error: 'contact not found' };
        }
        if (Object.values(result).every((r) => 'error' in (r as object))) return { status: 404, body: { errors: [{ field: null, message: 'no contacts found' }] } };
        return { status: 200, body: { result } };
      }
      case 'GET /v3/marketing/lists/{id}': {
        const list = lists.get(params.id!);
        if (!list) return { status: 404, body: [{ field: null, message: 'list not found' }] };
        return { status: 200, body: { id: list.id, name: list.name, contact_count: [...contacts.values()].filter((c) => c.listIds.has(list.id)).length } };
      }
      case 'DELETE /v3/marketing/lists/{id}/contacts': {
        const list = lists.get(params.id!);
        if (!list) return { status: 404 };
        const ids = new Set((query.get('contact_ids') ?? '').split(','));
        for (const contact of contacts.values()) if (ids.has(contact.id)) contact.listIds.delete(list.id);
        return { status: 202, body: { job_id: randomUUID() } };
      }
      default:
        return { status: 501, body: errorBody(`the fake does not implement ${key}`) };
    }
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const rawBody = raw.toString('utf8');
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const method = (req.method ?? 'GET').toUpperCase();
      const outsideSpec = url.pathname.startsWith('/__files/') || url.pathname === '/v3/marketing/field_definitions';
      const validation = outsideSpec ? { errors: [] as string[], match: undefined, body: undefined } : validator.validateRequest({ method, pathname: url.pathname, query: url.searchParams, contentType: req.headers['content-type'], rawBody });
      const entry: LoggedRequest = { seq: ++seq, method, path: url.pathname, query: url.search, operation: validation.match?.template, body: validation.body, status: 0, validationErrors: validation.errors, responseErrors: [] };
      requests.push(entry);
      let answer: JsonResponse;
      try {
        answer = serve(method, validation.match, url.pathname, validation.errors, req.headers.authorization, url.searchParams, validation.body, raw.length);
      } catch (error) {
        answer = { status: 500, body: errorBody(`fake crashed: ${(error as Error).message}`) };
        entry.responseErrors.push(`handler threw: ${(error as Error).stack ?? String(error)}`);
      }
      entry.status = answer.status;
      entry.fault = answer.fault;
      if (validation.match && answer.status !== 501 && answer.status !== 413 && answer.fault !== 'rate_limit' && answer.fault !== 'injected') {
        entry.responseErrors.push(...validator.validateResponse(validation.match, answer.status, answer.body));
      }
      const headers: Record<string, string> = { ...answer.headers };
      if (answer.body !== undefined) headers['content-type'] = 'application/json';
      res.writeHead(answer.status, headers);
      res.end(answer.text ?? (answer.body === undefined ? undefined : JSON.stringify(answer.body)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const copy = (c: SendgridFakeContact): SendgridFakeContact => ({ ...c, fields: { ...c.fields }, custom: { ...c.custom }, listIds: new Set(c.listIds) });
  return {
    url: baseUrl,
    apiKey,
    restrictedKey,
    requests,
    validationFailures: () => requests.filter((r) => r.validationErrors.length > 0),
    responseValidationFailures: () => requests.filter((r) => r.responseErrors.length > 0),
    contacts: () => {
      runDueJobs();
      return [...contacts.values()].map(copy);
    },
    contact: (email) => {
      runDueJobs();
      const found = contacts.get(email.toLowerCase());
      return found ? copy(found) : undefined;
    },
    createList: (name) => {
      const id = randomUUID();
      lists.set(id, { id, name });
      return id;
    },
    listMembers: (listId) => {
      runDueJobs();
      return [...contacts.values()].filter((c) => c.listIds.has(listId)).map((c) => c.email).sort();
    },
    defineCustomField: (name, type) => {
      const id = `e${nextField++}_${type[0]}`;
      customFields.set(id, { id, name, field_type: type });
      return id;
    },
    failNext: (count, status, retryAfterSeconds) => {
      for (let i = 0; i < count; i++) faults.push({ status, retryAfterSeconds });
    },
    setRecordFault: (fault) => {
      recordFault = fault;
    },
    setJobDelay: (ms) => {
      jobDelayMs = ms;
    },
    setRateLimit: (limit) => {
      rateLimit = limit;
      window = [];
    },
    jobs: () => [...jobs.values()].map((j) => ({ id: j.id, status: j.status, requested: j.contacts.length })),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
