/**
 * The HTTP scaffold the Mailchimp, Braze and Customer.io fakes share: a node:http server on
 * 127.0.0.1 (random port) that reads and parses each JSON body, counts requests in flight,
 * adds latency, applies faults (`failNext`, a seeded share of 429/5xx) before the vendor's
 * handler runs, and logs what it refused as malformed. Invariant: a faulted request never
 * reaches the handler, so it changes no state — a fake's end state is exactly what was
 * acknowledged.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { z } from 'zod';

export interface FakeAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** Parsed JSON, or undefined for an empty body; `bodyError` when the body was not JSON. */
  body: unknown;
  bodyError?: string;
}

export interface VendorFakeFaults {
  /** Seeded share of requests answered 429 (with Retry-After: `retryAfterSeconds`). */
  tooManyRate?: number;
  /** Seeded share of requests answered 500 or 503. */
  serverErrorRate?: number;
  /** Retry-After sent with random 429s (seconds; Mailchimp sends none: undefined). */
  retryAfterSeconds?: number;
  /** Milliseconds before each answer (so concurrent requests overlap). */
  latencyMs?: number;
  seed?: number;
}

export interface VendorFakeStats {
  requests: number;
  accepted: number;
  tooMany: number;
  serverErrors: number;
  refused: number;
  maxInFlight: number;
}

export interface VendorFakeServer {
  url: string;
  stats: VendorFakeStats;
  faults: VendorFakeFaults;
  /** Requests the fake refused as malformed (400 from validation), with the reason. */
  refusals: Array<{ method: string; path: string; reason: string }>;
  /** The next `count` requests get this status (429 carries Retry-After: 1). */
  failNext(count: number, status: 429 | 500 | 503): void;
  close(): Promise<void>;
}

export interface VendorFakeHooks {
  /** Auth check: an answer refuses the request before anything else. */
  authenticate(req: FakeRequest): FakeAnswer | undefined;
  /** Limits checked before faults (e.g. a concurrency cap); an answer refuses the request. */
  admit?(req: FakeRequest, inFlight: number): FakeAnswer | undefined;
  /** The vendor's body for an injected fault. */
  faultBody(status: number): unknown;
  handle(req: FakeRequest): FakeAnswer;
}

/** A seeded PRNG (mulberry32), so fault patterns repeat run to run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A zod failure as one line: `path: message`. */
export function zodReason(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`)
    .join('; ');
}

export async function startVendorFake(hooks: VendorFakeHooks, faults: VendorFakeFaults = {}): Promise<VendorFakeServer> {
  const random = seededRandom(faults.seed ?? 1);
  const forced = { count: 0, status: 500 as 429 | 500 | 503 };
  const timers = new Set<NodeJS.Timeout>();
  let inFlight = 0;
  const fake: VendorFakeServer = {
    url: '',
    stats: { requests: 0, accepted: 0, tooMany: 0, serverErrors: 0, refused: 0, maxInFlight: 0 },
    faults,
    refusals: [],
    failNext(count, status) {
      forced.count = count;
      forced.status = status;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };

  const decide = (req: FakeRequest): FakeAnswer => {
    const denied = hooks.authenticate(req);
    if (denied) return denied;
    const limited = hooks.admit?.(req, inFlight);
    if (limited) {
      if (limited.status === 429) fake.stats.tooMany++;
      return limited;
    }
    if (forced.count > 0) {
      forced.count--;
      if (forced.status === 429) fake.stats.tooMany++;
      else fake.stats.serverErrors++;
      return { status: forced.status, body: hooks.faultBody(forced.status), headers: forced.status === 429 ? { 'retry-after': '1' } : {} };
    }
    if (faults.tooManyRate && random() < faults.tooManyRate) {
      fake.stats.tooMany++;
      return { status: 429, body: hooks.faultBody(429), headers: faults.retryAfterSeconds !== undefined ? { 'retry-after': String(faults.retryAfterSeconds) } : {} };
    }
    if (faults.serverErrorRate && random() < faults.serverErrorRate) {
      fake.stats.serverErrors++;
      const status = random() < 0.5 ? 500 : 503;
      return { status, body: hooks.faultBody(status) };
    }
    if (req.bodyError) return { status: 400, body: hooks.faultBody(400) };
    const answer = hooks.handle(req);
    if (answer.status === 400) {
      fake.stats.refused++;
      fake.refusals.push({ method: req.method, path: req.path, reason: JSON.stringify(answer.body).slice(0, 300) });
    } else if (answer.status < 300) fake.stats.accepted++;
    return answer;
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      fake.stats.requests++;
      inFlight++;
      fake.stats.maxInFlight = Math.max(fake.stats.maxInFlight, inFlight);
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      let bodyError: string | undefined;
      if (text !== '') {
        try {
          body = JSON.parse(text) as unknown;
        } catch (error) {
          bodyError = (error as Error).message;
        }
      }
      const request: FakeRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body, bodyError };
      // The answer is decided on arrival (state changes then), sent after the latency: the
      // request still counts as in flight until it is answered, like a real connection.
      const answer = decide(request);
      const send = () => {
        inFlight--;
        if (res.destroyed) return;
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
      };
      if (faults.latencyMs) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          send();
        }, faults.latencyMs);
        timers.add(timer);
      } else send();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
