/**
 * A stateful local webhook receiver (127.0.0.1 only) for connector, fault and benchmark
 * tests. It applies each batch to its record store (upsert/update/insert/add set a record,
 * delete/remove take it away), keeps a log of every request it accepted, verifies the
 * HMAC signature when given a secret, and misbehaves on demand: a sliding-window rate limit
 * answered with 429 + Retry-After, 5xx on a seeded random share of requests, latency, hung
 * requests (for timeouts), and per-row rejections chosen by a predicate. A faulty request
 * changes nothing, so the end state is exactly what was acknowledged.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

export interface WebhookReceiverOptions {
  /** At most `count` accepted requests in any `perMs` window; beyond: 429 with Retry-After. */
  rateLimit?: { count: number; perMs: number };
  /** Share of requests answered 500/503 (seeded, so runs repeat). */
  serverErrorRate?: number;
  /** Share of requests answered 429 with Retry-After: 0 (a storm not tied to a window). */
  tooManyRate?: number;
  /** Share of requests never answered until the client gives up (timeouts). */
  hangRate?: number;
  /** Milliseconds before each answer. */
  latencyMs?: number;
  /** A reason to reject a row (per-row outcome), or undefined to accept it. */
  rejectRow?: (key: string, fields: Record<string, unknown>) => string | undefined;
  /** Answer a batch holding a rejected row with HTTP 400 instead of per-row results (the engine must split it). */
  rejectWholeBatch?: boolean;
  /** Verify `x-cdp-signature` with this secret; a bad signature is answered 401. */
  secret?: string;
  /** Reject requests whose `authorization` header is not this (for auth tests). */
  requireAuthorization?: string;
  /** Keep the request log (the bench turns it off to measure the engine, not the fake). */
  keepLog?: boolean;
  seed?: number;
}

export const receivedBatchSchema = z.object({
  object: z.string(),
  op: z.enum(['upsert', 'update', 'insert', 'delete', 'add', 'remove']),
  rows: z.array(z.object({ key: z.string(), fields: z.record(z.string(), z.unknown()) })),
});
export type ReceivedBatch = z.infer<typeof receivedBatchSchema>;

export interface WebhookReceiver {
  url: string;
  /** Records by key, as the receiver holds them now. */
  records: Map<string, Record<string, unknown>>;
  /** Every request that was applied (not the faulty ones), in arrival order. */
  log: ReceivedBatch[];
  /** How many times each key was inserted (insert mode duplicates). */
  inserts: Map<string, number>;
  stats: { requests: number; accepted: number; tooMany: number; serverErrors: number; hung: number; badSignature: number; rowsAccepted: number };
  /** Arrival times (ms, monotonic) of accepted requests, for rate measurements. */
  acceptedAt: number[];
  /** The next `count` requests get this status. */
  failNext(count: number, status: 429 | 500 | 503): void;
  options: WebhookReceiverOptions;
  close(): Promise<void>;
}

export async function startWebhookReceiver(options: WebhookReceiverOptions = {}): Promise<WebhookReceiver> {
  let seed = options.seed ?? 1;
  const random = () => {
    // mulberry32: small, seeded, good enough to pick faulty requests.
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const windowTimes: number[] = [];
  const forced: { count: number; status: 429 | 500 | 503 } = { count: 0, status: 500 };
  const hungResponses = new Set<ServerResponse>();
  const timers = new Set<NodeJS.Timeout>();
  const receiver: WebhookReceiver = {
    url: '',
    records: new Map(),
    log: [],
    inserts: new Map(),
    stats: { requests: 0, accepted: 0, tooMany: 0, serverErrors: 0, hung: 0, badSignature: 0, rowsAccepted: 0 },
    acceptedAt: [],
    options,
    failNext(count, status) {
      forced.count = count;
      forced.status = status;
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      for (const res of hungResponses) res.destroy();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };

  const answer = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const send = () => {
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    if (options.latencyMs) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        send();
      }, options.latencyMs);
      timers.add(timer);
    } else send();
  };

  const handle = (req: IncomingMessage, res: ServerResponse, text: string) => {
    receiver.stats.requests++;
    if (options.requireAuthorization && req.headers.authorization !== options.requireAuthorization) {
      return answer(res, 401, { message: 'invalid credentials' });
    }
    if (options.secret) {
      const expected = `sha256=${createHmac('sha256', options.secret).update(`${String(req.headers['x-cdp-timestamp'])}.${text}`).digest('hex')}`;
      const given = String(req.headers['x-cdp-signature'] ?? '');
      if (given.length !== expected.length || !timingSafeEqual(Buffer.from(given), Buffer.from(expected))) {
        receiver.stats.badSignature++;
        return answer(res, 401, { message: 'bad signature' });
      }
    }
    if (forced.count > 0) {
      forced.count--;
      if (forced.status === 429) receiver.stats.tooMany++;
      else receiver.stats.serverErrors++;
      return answer(res, forced.status, { message: 'forced failure' }, forced.status === 429 ? { 'retry-after': '1' } : {});
    }
    if (options.hangRate && random() < options.hangRate) {
      receiver.stats.hung++;
      hungResponses.add(res);
      res.on('close', () => hungResponses.delete(res));
      return;
    }
    if (options.tooManyRate && random() < options.tooManyRate) {
      receiver.stats.tooMany++;
      return answer(res, 429, { message: 'slow down' }, { 'retry-after': '0' });
    }
    if (options.serverErrorRate && random() < options.serverErrorRate) {
      receiver.stats.serverErrors++;
      return answer(res, random() < 0.5 ? 500 : 503, { message: 'internal error' });
    }
    if (options.rateLimit) {
      const now = performance.now();
      while (windowTimes.length && windowTimes[0]! <= now - options.rateLimit.perMs) windowTimes.shift();
      if (windowTimes.length >= options.rateLimit.count) {
        receiver.stats.tooMany++;
        const waitMs = windowTimes[0]! + options.rateLimit.perMs - now;
        return answer(res, 429, { message: 'rate limit' }, { 'retry-after': (Math.ceil(waitMs) / 1000).toFixed(3) });
      }
      windowTimes.push(now);
    }
    let parsed: ReceivedBatch;
    try {
      parsed = receivedBatchSchema.parse(JSON.parse(text));
    } catch (error) {
      return answer(res, 400, { message: `malformed batch: ${(error as Error).message.slice(0, 200)}` });
    }
    const reasons = parsed.rows.map((r) => (options.rejectRow && ['upsert', 'update', 'insert', 'add'].includes(parsed.op) ? options.rejectRow(r.key, r.fields) : undefined));
    if (options.rejectWholeBatch && reasons.some((r) => r !== undefined)) {
      return answer(res, 400, { message: reasons.find((r) => r !== undefined) });
    }
    receiver.stats.accepted++;
    receiver.acceptedAt.push(performance.now());
    const applied: ReceivedBatch = { ...parsed, rows: parsed.rows.filter((_, i) => reasons[i] === undefined) };
    for (const row of applied.rows) {
      if (parsed.op === 'delete' || parsed.op === 'remove') receiver.records.delete(row.key);
      else if (parsed.op === 'update') {
        if (receiver.records.has(row.key)) receiver.records.set(row.key, { ...receiver.records.get(row.key), ...row.fields });
      } else {
        receiver.records.set(row.key, parsed.op === 'upsert' ? { ...receiver.records.get(row.key), ...row.fields } : row.fields);
        if (parsed.op === 'insert') receiver.inserts.set(row.key, (receiver.inserts.get(row.key) ?? 0) + 1);
      }
    }
    receiver.stats.rowsAccepted += applied.rows.length;
    if (options.keepLog !== false) receiver.log.push(applied);
    const anyRejected = reasons.some((r) => r !== undefined);
    answer(res, 200, anyRejected ? { results: reasons.map((r) => (r === undefined ? { status: 'ok' } : { status: 'rejected', reason: r })) } : undefined);
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return receiver;
}
