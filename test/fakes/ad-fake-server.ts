/**
 * The HTTP scaffold shared by the ad-platform and Salesforce fakes (meta, google-ads,
 * linkedin, tiktok, salesforce): a node:http server on 127.0.0.1 (random port) that reads
 * each request's raw body, logs it (method, path, query, headers, the raw text — so a test
 * can prove no raw email or phone ever left the connector), and applies faults *before*
 * the vendor handler runs: queued faults (`failNext`) and a seeded share of rate-limit and
 * 5xx answers. Invariant: a faulted request never reaches the handler, so it changes no
 * state — the fake's end state is exactly what was acknowledged.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { seededRandom } from './vendor-fake';

export interface FakeAnswer {
  status: number;
  /** JSON-encoded unless `text` is set. */
  body?: unknown;
  /** Sent as is (CSV answers). */
  text?: string;
  headers?: Record<string, string>;
}

export interface FakeCall {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The request body exactly as received. */
  rawBody: string;
  /** Parsed JSON when the body was JSON. */
  body: unknown;
  status: number;
  fault?: 'queued' | 'random';
}

export interface FakeServerOptions {
  /** Seeded share of requests answered with the vendor's rate-limit signal. */
  rateLimitRate?: number;
  /** Seeded share of requests answered 500/503. */
  serverErrorRate?: number;
  seed?: number;
  latencyMs?: number;
}

export interface FakeServer {
  url: string;
  readonly calls: FakeCall[];
  readonly stats: { requests: number; rateLimited: number; serverErrors: number };
  /** The next `count` requests get this answer (a factory, so each is fresh). */
  failNext(count: number, answer: () => FakeAnswer): void;
  close(): Promise<void>;
}

export type FakeHandler = (call: Omit<FakeCall, 'status' | 'fault'>) => FakeAnswer | Promise<FakeAnswer>;

// The vendor fakes' seeded PRNG, so fault patterns repeat run to run.
export { seededRandom };

/**
 * Starts the server. `rateLimitAnswer` is how this vendor says "slow down" (Meta: an error
 * code in a 400 body; others: 429), used for the random share.
 */
export async function startFakeServer(handler: FakeHandler, rateLimitAnswer: () => FakeAnswer, options: FakeServerOptions = {}): Promise<FakeServer> {
  const calls: FakeCall[] = [];
  const stats = { requests: 0, rateLimited: 0, serverErrors: 0 };
  const queued: Array<() => FakeAnswer> = [];
  const random = seededRandom(options.seed ?? 1);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const rawBody = Buffer.concat(chunks).toString('utf8');
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        let body: unknown;
        if (rawBody !== '' && /json/.test(req.headers['content-type'] ?? '')) {
          try {
            body = JSON.parse(rawBody) as unknown;
          } catch {
            body = undefined;
          }
        }
        const base = { method: req.method ?? 'GET', path: decodeURIComponent(url.pathname), query: url.searchParams, headers: req.headers, rawBody, body };
        stats.requests++;
        if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs));
        let answer: FakeAnswer;
        let fault: FakeCall['fault'];
        const next = queued.shift();
        if (next) {
          answer = next();
          fault = 'queued';
        } else {
          const roll = random();
          const rl = options.rateLimitRate ?? 0;
          const se = options.serverErrorRate ?? 0;
          if (roll < rl) {
            answer = rateLimitAnswer();
            fault = 'random';
          } else if (roll < rl + se) {
            answer = { status: roll < rl + se / 2 ? 500 : 503, body: { message: 'injected server error' } };
            fault = 'random';
          } else {
            try {
              answer = await handler(base);
            } catch (error) {
              answer = { status: 500, body: { message: `fake bug: ${error instanceof Error ? error.message : String(error)}` } };
            }
          }
        }
        if (fault && answer.status >= 500) stats.serverErrors++;
        else if (fault) stats.rateLimited++;
        calls.push({ ...base, status: answer.status, fault });
        const text = answer.text ?? (answer.body === undefined ? '' : JSON.stringify(answer.body));
        const headers: Record<string, string> = { ...(answer.text === undefined && answer.body !== undefined ? { 'content-type': 'application/json' } : {}), ...answer.headers };
        res.writeHead(answer.status, headers);
        res.end(text);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    stats,
    failNext(count, answer) {
      for (let i = 0; i < count; i++) queued.push(answer);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Standard answers for the conformance suite's `failNext(count, status)`. */
export function statusAnswer(status: 429 | 500 | 503): () => FakeAnswer {
  return () => (status === 429 ? { status, headers: { 'retry-after': '1' }, body: { message: 'Too Many Requests' } } : { status, body: { message: 'injected server error' } });
}
