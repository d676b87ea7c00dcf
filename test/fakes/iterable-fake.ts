/**
 * `startIterableFake`: a stateful local Iterable (node:http on 127.0.0.1, random port) for
 * what the iterable connector uses: users by lowercased email with dataFields (top-level
 * merge), static lists, `users/bulkUpdate` (4 MB body, 5 requests/s per project → 429
 * `RateLimitExceeded`), `lists/subscribe` and `lists/unsubscribe` (with `channelUnsubscribe`
 * = global email unsubscribe), partial failures in a 200 (`failCount`, `invalidEmails`,
 * `failedUpdates{invalidDataEmails, forgottenEmails, notFoundEmails …}`), forgotten (GDPR)
 * users that may not be re-created, `Api-Key` auth (401 `BadApiKey`), and injectable faults.
 *
 * Invariants: EVERY request is validated against ../shared/specs/iterable/api-docs.json
 * (Swagger 2.0) before it is served; a request the spec refuses gets 400 `BadParams` and is
 * logged (`validationFailures()`; tests assert it is empty). Responses are checked too.
 */
import http from 'node:http';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { OpenApiValidator, type LoggedRequest, type MatchedOperation } from './openapi-validator';

export const ITERABLE_SPEC_FILE = path.join(__dirname, '..', '..', '..', 'shared', 'specs', 'iterable', 'api-docs.json');
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface IterableFakeUser {
  email: string;
  dataFields: Record<string, unknown>;
  lists: Set<number>;
  /** Unsubscribed from the email channel (a global unsubscribe). */
  emailUnsubscribed: boolean;
}

export type { LoggedRequest } from './openapi-validator';

export interface IterableFake {
  url: string;
  apiKey: string;
  readonly requests: LoggedRequest[];
  validationFailures(): LoggedRequest[];
  responseValidationFailures(): LoggedRequest[];
  users(): IterableFakeUser[];
  user(email: string): IterableFakeUser | undefined;
  createList(name: string): string;
  listMembers(listId: string): string[];
  /** A GDPR-forgotten user: Iterable refuses to re-create it. */
  forget(email: string): void;
  failNext(count: number, status: number, retryAfterSeconds?: number): void;
  /** A dataFields type error (invalidDataEmails) for users this returns true for. */
  setInvalidData(fault: ((email: string, dataFields: Record<string, unknown>) => boolean) | undefined): void;
  setBulkRate(limit: { count: number; perMs: number }): void;
  close(): Promise<void>;
}

interface JsonResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  fault?: LoggedRequest['fault'];
}

export async function startIterableFake(options: { apiKey?: string; bulkRate?: { count: number; perMs: number } } = {}): Promise<IterableFake> {
  const validator = OpenApiValidator.fromFiles([ITERABLE_SPEC_FILE]);
  const apiKey = options.apiKey ?? randomUUID().replace(/-/g, '');
  let bulkRate = options.bulkRate ?? { count: 5, perMs: 1000 };
  const users = new Map<string, IterableFakeUser>();
  const lists = new Map<number, string>();
  const forgotten = new Set<string>();
  const requests: LoggedRequest[] = [];
  let faults: Array<{ status: number; retryAfterSeconds?: number }> = [];
  let invalidData: ((email: string, dataFields: Record<string, unknown>) => boolean) | undefined;
  let bulkStamps: number[] = [];
  let seq = 0;
  let nextList = 1001;

  const fail = (status: number, code: string, msg: string): JsonResponse => ({ status, body: { msg, code, params: null } });

  /** Applies users one by one; failures are reported in the 200 the way Iterable does. */
  function applyUsers(inputs: Array<{ email?: string; dataFields?: Record<string, unknown> }>, each: (user: IterableFakeUser) => void, mustExist = false): Record<string, unknown> {
    const failed = { conflictEmails: [] as string[], forgottenEmails: [] as string[], invalidDataEmails: [] as string[], invalidEmails: [] as string[], notFoundEmails: [] as string[] };
    const invalidEmails: string[] = [];
    let success = 0;
    for (const input of inputs) {
      const raw = input.email ?? '';
      const email = raw.toLowerCase();
      if (!EMAIL_PATTERN.test(raw) || raw.includes('..')) {
        invalidEmails.push(raw);
        failed.invalidEmails.push(raw);
      } else if (forgotten.has(email)) failed.forgottenEmails.push(raw);
      else if (input.dataFields && invalidData?.(email, input.dataFields)) failed.invalidDataEmails.push(raw);
      else if (mustExist && !users.has(email)) failed.notFoundEmails.push(raw);
      else {
        let user = users.get(email);
        if (!user) {
          user = { email, dataFields: {}, lists: new Set(), emailUnsubscribed: false };
          users.set(email, user);
        }
        Object.assign(user.dataFields, input.dataFields ?? {});
        each(user);
        success++;
      }
    }
    const failCount = inputs.length - success;
    return { successCount: success, failCount, invalidEmails, invalidUserIds: [], createdFields: [], filteredOutFields: [], failedUpdates: { ...failed, conflictUserIds: [], forgottenUserIds: [], invalidDataUserIds: [], invalidUserIds: [], notFoundUserIds: [] } };
  }

  function handle(key: string, body: unknown, rawBytes: number): JsonResponse {
    switch (key) {
      case 'GET /api/lists':
        return { status: 200, body: { lists: [...lists].map(([id, name]) => ({ id, name, listType: 'Standard', createdAt: 1_700_000_000 })) } };
      case 'GET /api/users/getFields': {
        const fields: Record<string, string> = { email: 'string' };
        for (const user of users.values()) for (const [name, value] of Object.entries(user.dataFields)) fields[name] ??= typeof value === 'number' ? 'double' : typeof value === 'boolean' ? 'boolean' : 'string';
        return { status: 200, body: { fields } };
      }
      case 'POST /api/users/bulkUpdate': {
        if (rawBytes > 4 * 1024 * 1024) return fail(413, 'RequestTooLarge', 'Request body exceeds 4 MB.');
        const t = Date.now();
        bulkStamps = bulkStamps.filter((s) => s > t - bulkRate.perMs);
        if (bulkStamps.length >= bulkRate.count) return { ...fail(429, 'RateLimitExceeded', 'Rate limit exceeded: users/bulkUpdate allows 5 requests per second.'), fault: 'rate_limit' };
        bulkStamps.push(t);
        return { status: 200, body: applyUsers((body as { users: Array<{ email?: string; dataFields?: Record<string, unknown> }> }).users, () => undefined) };
      }
      case 'POST /api/lists/subscribe':
      case 'POST /api/lists/unsubscribe': {
        const request = body as { listId: number; subscribers: Array<{ email?: string; dataFields?: Record<string, unknown> }>; channelUnsubscribe?: boolean };
        if (!lists.has(request.listId)) return fail(400, 'BadParams', `List ${request.listId} does not exist.`);
        if (key.endsWith('/subscribe')) return { status: 200, body: applyUsers(request.subscribers, (u) => u.lists.add(request.listId)) };
        const subscribers = request.subscribers.map((s) => ({ email: s.email }));
        return {
          status: 200,
          body: applyUsers(
            subscribers,
            (u) => {
              u.lists.delete(request.listId);
              if (request.channelUnsubscribe) u.emailUnsubscribed = true;
            },
            true,
          ),
        };
      }
      default:
        return fail(501, 'NotImplemented', `The fake does not implement ${key}.`);
    }
  }

  function serve(method: string, match: MatchedOperation | undefined, validationErrors: string[], key: string | undefined, body: unknown, rawBytes: number): JsonResponse {
    if (key !== apiKey) return { ...fail(401, 'BadApiKey', 'Invalid API key'), fault: 'auth' };
    const fault = faults.shift();
    if (fault) {
      const headers: Record<string, string> = fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {};
      return { ...fail(fault.status, fault.status === 429 ? 'RateLimitExceeded' : 'GenericError', `injected ${fault.status}`), headers, fault: 'injected' };
    }
    if (!match) return fail(404, 'NotFound', `No route ${method}.`);
    if (validationErrors.length > 0) return fail(400, 'BadParams', `Invalid parameters: ${validationErrors.join('; ')}`);
    return handle(`${method} ${match.template}`, body, rawBytes);
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const method = (req.method ?? 'GET').toUpperCase();
      const validation = validator.validateRequest({ method, pathname: url.pathname, query: url.searchParams, contentType: req.headers['content-type'], rawBody: raw.toString('utf8'), headers: req.headers });
      const entry: LoggedRequest = { seq: ++seq, method, path: url.pathname, operation: validation.match?.template, body: validation.body, status: 0, validationErrors: validation.errors, responseErrors: [] };
      requests.push(entry);
      let answer: JsonResponse;
      try {
        const header = req.headers['api-key'];
        answer = serve(method, validation.match, validation.errors, Array.isArray(header) ? header[0] : header, validation.body, raw.length);
      } catch (e) {
        answer = fail(500, 'GenericError', `fake crashed: ${(e as Error).message}`);
        entry.responseErrors.push(`handler threw: ${(e as Error).stack ?? String(e)}`);
      }
      entry.status = answer.status;
      entry.fault = answer.fault;
      // The spec documents only 200 bodies (4xx bodies are described, not typed).
      if (validation.match && answer.status === 200) entry.responseErrors.push(...validator.validateResponse(validation.match, answer.status, answer.body));
      const headers: Record<string, string> = { ...answer.headers };
      if (answer.body !== undefined) headers['content-type'] = 'application/json';
      res.writeHead(answer.status, headers);
      res.end(answer.body === undefined ? undefined : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const copy = (u: IterableFakeUser): IterableFakeUser => ({ ...u, dataFields: { ...u.dataFields }, lists: new Set(u.lists) });
  return {
    url,
    apiKey,
    requests,
    validationFailures: () => requests.filter((r) => r.validationErrors.length > 0),
    responseValidationFailures: () => requests.filter((r) => r.responseErrors.length > 0),
    users: () => [...users.values()].map(copy),
    user: (email) => {
      const u = users.get(email.toLowerCase());
      return u ? copy(u) : undefined;
    },
    createList: (name) => {
      const id = nextList++;
      lists.set(id, name);
      return String(id);
    },
    listMembers: (listId) => [...users.values()].filter((u) => u.lists.has(Number(listId))).map((u) => u.email).sort(),
    forget: (email) => {
      forgotten.add(email.toLowerCase());
      users.delete(email.toLowerCase());
    },
    failNext: (count, status, retryAfterSeconds) => {
      for (let i = 0; i < count; i++) faults.push({ status, retryAfterSeconds });
    },
    setInvalidData: (fault) => {
      invalidData = fault;
    },
    setBulkRate: (limit) => {
      bulkRate = limit;
      bulkStamps = [];
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
