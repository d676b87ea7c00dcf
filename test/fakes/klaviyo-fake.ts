/**
 * `startKlaviyoFake`: a stateful local Klaviyo (node:http on 127.0.0.1, random port) for what
 * the klaviyo connector uses: profiles keyed by lowercased email, profile bulk import jobs
 * (202 queued → processing → complete after `jobDelayMs`; state changes only when the job
 * runs; per-profile failures listed at `/import-errors` with JSON pointers and the original
 * payload, paged ≤100), list relationships (DELETE ≤1,000), profile lookup by
 * `any(email,[…])`, email subscription bulk create/delete jobs (≤1,000; delete also leaves
 * the list), `Klaviyo-API-Key` auth (401 unknown key, 403 key without a scope), the
 * `revision` header, 10,000 profiles / 5 MB per import request, a burst (1 s) and steady
 * (1 min) limiter answering 429 with Retry-After, and injectable faults.
 *
 * Invariants: EVERY request is validated against ../shared/specs/klaviyo/stable.json —
 * including the required `revision` header and the `application/vnd.api+json` content
 * type — before it is served; a request the spec refuses gets 400 with JSON:API errors and is
 * logged (`validationFailures()`; tests assert it is empty). Responses are checked against
 * the spec too (`responseValidationFailures()`).
 */
import http from 'node:http';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { OpenApiValidator, type LoggedRequest, type MatchedOperation } from './openapi-validator';

export const KLAVIYO_SPEC_FILE = path.join(__dirname, '..', '..', '..', 'shared', 'specs', 'klaviyo', 'stable.json');
export const KLAVIYO_REVISION = '2026-07-15';
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface KlaviyoFakeProfile {
  id: string;
  email: string;
  attributes: Record<string, unknown>;
  location: Record<string, unknown>;
  properties: Record<string, unknown>;
  emailMarketing: 'NEVER_SUBSCRIBED' | 'SUBSCRIBED' | 'UNSUBSCRIBED';
}

export type { LoggedRequest } from './openapi-validator';

export interface KlaviyoFakeOptions {
  privateKey?: string;
  /** A key Klaviyo knows but without the scopes (403). */
  scopelessKey?: string;
  burst?: { count: number; perMs: number };
  steady?: { count: number; perMs: number };
  jobDelayMs?: number;
  /** The validator is costly to build (3 MB spec): tests share one. */
  validator?: OpenApiValidator;
}

export interface KlaviyoFake {
  url: string;
  privateKey: string;
  scopelessKey: string;
  readonly requests: LoggedRequest[];
  validationFailures(): LoggedRequest[];
  responseValidationFailures(): LoggedRequest[];
  profiles(): KlaviyoFakeProfile[];
  profile(email: string): KlaviyoFakeProfile | undefined;
  createList(name: string): string;
  listMembers(listId: string): string[];
  failNext(count: number, status: number, retryAfterSeconds?: number): void;
  setRecordFault(fault: ((email: string) => string | undefined) | undefined): void;
  setJobDelay(ms: number): void;
  /** Lets Klaviyo's background workers catch up: every queued job runs now. */
  flushJobs(): void;
  setLimits(burst: { count: number; perMs: number }, steady: { count: number; perMs: number }): void;
  close(): Promise<void>;
}

let sharedValidator: OpenApiValidator | undefined;
export function klaviyoValidator(): OpenApiValidator {
  sharedValidator ??= OpenApiValidator.fromFiles([KLAVIYO_SPEC_FILE]);
  return sharedValidator;
}

interface JsonResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  fault?: LoggedRequest['fault'];
}

interface ImportJob {
  id: string;
  status: 'queued' | 'processing' | 'complete' | 'cancelled';
  runAt: number;
  profiles: Array<{ attributes: Record<string, unknown>; meta?: { patch_properties?: { unset?: string | string[] } } }>;
  listIds: string[];
  createdAt: string;
  completedAt?: string;
  errors: Array<{ id: string; code: string; title: string; detail: string; source: { pointer: string }; original_payload: Record<string, unknown> }>;
}

export async function startKlaviyoFake(options: KlaviyoFakeOptions = {}): Promise<KlaviyoFake> {
  const validator = options.validator ?? klaviyoValidator();
  const privateKey = options.privateKey ?? `pk_${randomUUID().replace(/-/g, '')}`;
  const scopelessKey = options.scopelessKey ?? `pk_noscope_${randomUUID().replace(/-/g, '')}`;
  let burst = options.burst ?? { count: 10, perMs: 1000 };
  let steady = options.steady ?? { count: 150, perMs: 60_000 };
  let jobDelayMs = options.jobDelayMs ?? 20;
  const profiles = new Map<string, KlaviyoFakeProfile>(); // by email
  const lists = new Map<string, { id: string; name: string; members: Set<string> }>(); // members: profile ids
  const jobs = new Map<string, ImportJob>();
  const pendingSubscriptions: Array<{ runAt: number; run: () => void }> = [];
  const requests: LoggedRequest[] = [];
  let faults: Array<{ status: number; retryAfterSeconds?: number }> = [];
  let recordFault: ((email: string) => string | undefined) | undefined;
  let stamps: number[] = [];
  let seq = 0;
  let baseUrl = '';

  const now = () => new Date().toISOString();
  const error = (status: number, code: string, title: string, detail: string, pointer?: string) => ({ status, body: { errors: [{ id: randomUUID(), status, code, title, detail, source: pointer ? { pointer } : {} }] } });
  const newListId = () => Math.random().toString(36).slice(2, 8).padEnd(6, 'x');

  function runDue(): void {
    for (const job of jobs.values()) {
      if (job.status === 'queued' && Date.now() >= job.runAt - jobDelayMs / 2) job.status = 'processing';
      if (job.status === 'processing' && Date.now() >= job.runAt) runImport(job);
    }
    // In submission order: a later unsubscribe must win over an earlier subscribe.
    while (pendingSubscriptions.length > 0 && Date.now() >= pendingSubscriptions[0]!.runAt) pendingSubscriptions.shift()!.run();
  }

  function upsertProfile(email: string): KlaviyoFakeProfile {
    let profile = profiles.get(email);
    if (!profile) {
      profile = { id: `01K${randomUUID().replace(/-/g, '').slice(0, 23).toUpperCase()}`, email, attributes: {}, location: {}, properties: {}, emailMarketing: 'NEVER_SUBSCRIBED' };
      profiles.set(email, profile);
    }
    return profile;
  }

  function runImport(job: ImportJob): void {
    job.profiles.forEach((input, i) => {
      const email = String(input.attributes.email ?? '').toLowerCase();
      const pointer = `/data/attributes/profiles/data/${i}/attributes/email`;
      const problem = !EMAIL_PATTERN.test(email) || email.includes('..') ? 'Invalid email address' : recordFault?.(email);
      if (problem) {
        job.errors.push({ id: randomUUID(), code: 'invalid', title: 'Invalid input.', detail: problem, source: { pointer }, original_payload: input.attributes });
        return;
      }
      const profile = upsertProfile(email);
      for (const [name, value] of Object.entries(input.attributes)) {
        if (name === 'email' || name === 'location' || name === 'properties') continue;
        if (value === null || value === '') delete profile.attributes[name];
        else profile.attributes[name] = value;
      }
      for (const [name, value] of Object.entries((input.attributes.location ?? {}) as Record<string, unknown>)) {
        if (value === null || value === '') delete profile.location[name];
        else profile.location[name] = value;
      }
      Object.assign(profile.properties, (input.attributes.properties ?? {}) as Record<string, unknown>);
      const unset = input.meta?.patch_properties?.unset;
      for (const name of unset === undefined ? [] : Array.isArray(unset) ? unset : [unset]) delete profile.properties[name];
      for (const listId of job.listIds) lists.get(listId)?.members.add(profile.id);
    });
    job.status = 'complete';
    job.completedAt = now();
  }

  function jobResource(job: ImportJob): Record<string, unknown> {
    const self = `${baseUrl}/api/profile-bulk-import-jobs/${job.id}`;
    const done = job.status === 'complete';
    return {
      type: 'profile-bulk-import-job',
      id: job.id,
      attributes: {
        status: job.status,
        created_at: job.createdAt,
        total_count: job.profiles.length,
        completed_count: done ? job.profiles.length - job.errors.length : 0,
        failed_count: done ? job.errors.length : 0,
        completed_at: job.completedAt ?? null,
        expires_at: new Date(Date.now() + 7 * 86_400_000).toISOString(),
        started_at: job.createdAt,
      },
      links: { self },
    };
  }

  function handle(key: string, params: Record<string, string>, query: URLSearchParams, body: unknown, rawBytes: number): JsonResponse {
    switch (key) {
      case 'GET /api/lists':
        return { status: 200, body: { data: [...lists.values()].slice(0, 10).map((l) => ({ type: 'list', id: l.id, attributes: { name: l.name }, links: { self: `${baseUrl}/api/lists/${l.id}` } })), links: { self: `${baseUrl}/api/lists` } } };
      case 'GET /api/lists/{id}': {
        const list = lists.get(params.id!);
        if (!list) return error(404, 'not_found', 'Not found.', `A list with id ${params.id} does not exist.`);
        return { status: 200, body: { data: { type: 'list', id: list.id, attributes: { name: list.name }, links: { self: `${baseUrl}/api/lists/${list.id}` } }, links: { self: `${baseUrl}/api/lists/${list.id}` } } };
      }
      case 'POST /api/profile-bulk-import-jobs': {
        if (rawBytes > 5 * 1024 * 1024) return error(413, 'request_too_large', 'Request too large.', 'The payload exceeds 5 MB.');
        const data = (body as { data: { attributes: { profiles: { data: ImportJob['profiles'] } }; relationships?: { lists?: { data: Array<{ id: string }> } } } }).data;
        const inputs = data.attributes.profiles.data;
        if (inputs.length > 10_000) return error(400, 'invalid', 'Invalid input.', `At most 10000 profiles per job; got ${inputs.length}.`, '/data/attributes/profiles/data');
        const big = inputs.findIndex((p) => Buffer.byteLength(JSON.stringify(p)) > 100 * 1024);
        if (big >= 0) return error(400, 'invalid', 'Invalid input.', 'A profile may be at most 100 KB.', `/data/attributes/profiles/data/${big}`);
        const listIds = (data.relationships?.lists?.data ?? []).map((l) => l.id);
        const unknown = listIds.find((id) => !lists.has(id));
        if (unknown) return error(404, 'not_found', 'Not found.', `A list with id ${unknown} does not exist.`, '/data/relationships/lists');
        const job: ImportJob = { id: randomUUID().replace(/-/g, ''), status: 'queued', runAt: Date.now() + jobDelayMs, profiles: inputs, listIds, createdAt: now(), errors: [] };
        jobs.set(job.id, job);
        return { status: 202, body: { data: jobResource(job), links: { self: `${baseUrl}/api/profile-bulk-import-jobs/${job.id}` } } };
      }
      case 'GET /api/profile-bulk-import-jobs/{job_id}': {
        const job = jobs.get(params.job_id!);
        if (!job) return error(404, 'not_found', 'Not found.', `Import job ${params.job_id} does not exist.`);
        return { status: 200, body: { data: jobResource(job), links: { self: `${baseUrl}/api/profile-bulk-import-jobs/${job.id}` } } };
      }
      case 'GET /api/profile-bulk-import-jobs/{id}/import-errors': {
        const job = jobs.get(params.id!);
        if (!job) return error(404, 'not_found', 'Not found.', `Import job ${params.id} does not exist.`);
        const size = Number(query.get('page[size]') ?? 20);
        const offset = Number(query.get('page[cursor]') ?? 0);
        const self = `${baseUrl}/api/profile-bulk-import-jobs/${job.id}/import-errors`;
        const links: Record<string, string> = { self };
        if (offset + size < job.errors.length) links.next = `${self}?page%5Bsize%5D=${size}&page%5Bcursor%5D=${offset + size}`;
        const data = job.errors.slice(offset, offset + size).map((e) => ({ type: 'import-error', id: e.id, attributes: { code: e.code, title: e.title, detail: e.detail, source: e.source, original_payload: e.original_payload } }));
        return { status: 200, body: { data, links } };
      }
      case 'GET /api/profiles': {
        const filter = query.get('filter') ?? '';
        const m = /^any\(email,\[(.*)\]\)$/.exec(filter) ?? /^equals\(email,(".*"|'.*')\)$/.exec(filter);
        if (!m) return error(400, 'invalid', 'Invalid filter.', `The fake understands any(email,[…]) and equals(email,…); got ${filter}`, undefined);
        const emails = m[1]!.split(',').map((s) => s.trim().replace(/^["']|["']$/g, '').toLowerCase()).filter(Boolean);
        if (emails.length > 100) return error(400, 'invalid', 'Invalid filter.', 'any() takes at most 100 values.');
        const found = emails.map((e) => profiles.get(e)).filter((p): p is KlaviyoFakeProfile => p !== undefined);
        return { status: 200, body: { data: found.map((p) => ({ type: 'profile', id: p.id, attributes: { email: p.email }, links: { self: `${baseUrl}/api/profiles/${p.id}` } })), links: { self: `${baseUrl}/api/profiles` } } };
      }
      case 'DELETE /api/lists/{id}/relationships/profiles': {
        const list = lists.get(params.id!);
        if (!list) return error(404, 'not_found', 'Not found.', `A list with id ${params.id} does not exist.`);
        const ids = (body as { data: Array<{ id: string }> }).data.map((d) => d.id);
        if (ids.length > 1000) return error(400, 'invalid', 'Invalid input.', 'At most 1000 profiles per request.', '/data');
        for (const id of ids) list.members.delete(id);
        return { status: 204 };
      }
      case 'POST /api/profile-subscription-bulk-create-jobs':
      case 'POST /api/profile-subscription-bulk-delete-jobs': {
        const data = (body as { data: { attributes: { profiles: { data: Array<{ attributes: { email?: string | null } }> } }; relationships?: { list?: { data: { id: string } } } } }).data;
        const emails = data.attributes.profiles.data.map((p) => (p.attributes.email ?? '').toLowerCase());
        if (emails.length > 1000) return error(400, 'invalid', 'Invalid input.', 'At most 1000 profiles per job.', '/data/attributes/profiles/data');
        const listId = data.relationships?.list?.data.id;
        if (listId && !lists.has(listId)) return error(404, 'not_found', 'Not found.', `A list with id ${listId} does not exist.`);
        const subscribe = key.includes('create');
        pendingSubscriptions.push({
          runAt: Date.now() + jobDelayMs,
          run: () => {
            for (const email of emails) {
              if (!EMAIL_PATTERN.test(email)) continue;
              const profile = upsertProfile(email);
              profile.emailMarketing = subscribe ? 'SUBSCRIBED' : 'UNSUBSCRIBED';
              // Subscribing with a list adds to it; unsubscribing removes from the given list.
              if (listId) {
                if (subscribe) lists.get(listId)!.members.add(profile.id);
                else lists.get(listId)!.members.delete(profile.id);
              }
            }
          },
        });
        return { status: 202 };
      }
      default:
        return error(501, 'not_implemented', 'Not implemented.', `The fake does not implement ${key}.`);
    }
  }

  function serve(method: string, match: MatchedOperation | undefined, validationErrors: string[], headers: http.IncomingHttpHeaders, query: URLSearchParams, body: unknown, rawBytes: number): JsonResponse {
    const auth = headers.authorization;
    if (auth === undefined) return { ...error(401, 'not_authenticated', 'Authentication credentials were not provided.', 'Missing or invalid authorization scheme. Please use Klaviyo-API-Key.'), fault: 'auth' };
    if (auth === `Klaviyo-API-Key ${scopelessKey}`) return { ...error(403, 'permission_denied', 'You do not have permission to perform this action.', 'This API key is missing required scopes: lists:read, profiles:write.'), fault: 'auth' };
    if (auth !== `Klaviyo-API-Key ${privateKey}`) return { ...error(401, 'not_authenticated', 'Incorrect authentication credentials.', 'The API key specified is invalid.'), fault: 'auth' };
    const t = Date.now();
    stamps = stamps.filter((s) => s > t - steady.perMs);
    const inBurst = stamps.filter((s) => s > t - burst.perMs);
    if (inBurst.length >= burst.count || stamps.length >= steady.count) {
      const wait = inBurst.length >= burst.count ? inBurst[0]! + burst.perMs - t : stamps[0]! + steady.perMs - t;
      return { ...error(429, 'throttled', 'Request was throttled.', `Request was throttled. Expected available in ${Math.ceil(wait / 1000)} second.`), headers: { 'retry-after': String(Math.max(1, Math.ceil(wait / 1000))) }, fault: 'rate_limit' };
    }
    stamps.push(t);
    const fault = faults.shift();
    if (fault) {
      const h: Record<string, string> = fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {};
      return { ...error(fault.status, fault.status === 429 ? 'throttled' : 'error', fault.status === 429 ? 'Request was throttled.' : 'A server error occurred.', `injected ${fault.status}`), headers: h, fault: 'injected' };
    }
    runDue();
    if (!match) return error(404, 'not_found', 'Not found.', `No operation ${method} at this path.`);
    if (validationErrors.length > 0) return { status: 400, body: { errors: validationErrors.map((detail) => ({ id: randomUUID(), code: 'invalid', title: 'Invalid input.', detail, source: {} })) } };
    if (headers.revision !== KLAVIYO_REVISION) return error(400, 'invalid_revision', 'Invalid revision.', `The revision header ${String(headers.revision)} is not a known revision; this fake serves ${KLAVIYO_REVISION}.`);
    return handle(`${method} ${match.template}`, match.pathParams, query, body, rawBytes);
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const method = (req.method ?? 'GET').toUpperCase();
      const validation = validator.validateRequest({ method, pathname: url.pathname, query: url.searchParams, contentType: req.headers['content-type'], rawBody: raw.toString('utf8'), headers: req.headers });
      const entry: LoggedRequest = { seq: ++seq, method, path: url.pathname, query: url.search, operation: validation.match?.template, body: validation.body, status: 0, validationErrors: validation.errors, responseErrors: [] };
      requests.push(entry);
      let answer: JsonResponse;
      try {
        answer = serve(method, validation.match, validation.errors, req.headers, url.searchParams, validation.body, raw.length);
      } catch (e) {
        answer = error(500, 'error', 'fake crashed', (e as Error).message);
        entry.responseErrors.push(`handler threw: ${(e as Error).stack ?? String(e)}`);
      }
      entry.status = answer.status;
      entry.fault = answer.fault;
      if (validation.match && ![501, 413].includes(answer.status)) entry.responseErrors.push(...validator.validateResponse(validation.match, answer.status, answer.body));
      const headers: Record<string, string> = { ...answer.headers };
      if (answer.status !== 429) Object.assign(headers, { 'ratelimit-limit': String(burst.count), 'ratelimit-remaining': String(Math.max(0, burst.count - stamps.filter((s) => s > Date.now() - burst.perMs).length)), 'ratelimit-reset': '1' });
      if (answer.body !== undefined) headers['content-type'] = 'application/vnd.api+json';
      res.writeHead(answer.status, headers);
      res.end(answer.body === undefined ? undefined : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const copy = (p: KlaviyoFakeProfile): KlaviyoFakeProfile => ({ ...p, attributes: { ...p.attributes }, location: { ...p.location }, properties: { ...p.properties } });
  return {
    url: baseUrl,
    privateKey,
    scopelessKey,
    requests,
    validationFailures: () => requests.filter((r) => r.validationErrors.length > 0),
    responseValidationFailures: () => requests.filter((r) => r.responseErrors.length > 0),
    profiles: () => {
      runDue();
      return [...profiles.values()].map(copy);
    },
    profile: (email) => {
      runDue();
      const p = profiles.get(email.toLowerCase());
      return p ? copy(p) : undefined;
    },
    createList: (name) => {
      const id = newListId();
      lists.set(id, { id, name, members: new Set() });
      return id;
    },
    listMembers: (listId) => {
      runDue();
      const members = lists.get(listId)?.members ?? new Set<string>();
      return [...profiles.values()].filter((p) => members.has(p.id)).map((p) => p.email).sort();
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
    flushJobs: () => {
      for (const job of jobs.values()) if (job.status === 'queued' || job.status === 'processing') runImport(job);
      while (pendingSubscriptions.length > 0) pendingSubscriptions.shift()!.run();
    },
    setLimits: (b, s) => {
      burst = b;
      steady = s;
      stamps = [];
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
