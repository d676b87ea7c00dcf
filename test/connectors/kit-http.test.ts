/**
 * ctx.http over node:http (connectors/kit/node-http.ts) keeps what connectors saw from fetch:
 * bodies and headers as sent, answer headers as `Headers`, compressed answers decoded,
 * redirects followed with fetch's rules, keep-alive reuse, a cancelled run's request failing
 * at once, and an injected `fetch` still taking over.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync, brotliCompressSync } from 'node:zlib';
import { ConnectorError, createConnectorContext, readRateLimitHeaders } from '../../connectors/kit';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  socket: number;
}

async function withServer(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void, run: (url: string, seen: Seen[]) => Promise<void>): Promise<void> {
  const seen: Seen[] = [];
  const sockets = new WeakMap<object, number>();
  let nextSocket = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (!sockets.has(req.socket)) sockets.set(req.socket, nextSocket++);
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body, socket: sockets.get(req.socket)! });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('ctx.http over node:http', () => {
  test('JSON and raw bodies, headers both ways, rate-limit headers readable, one kept-alive socket', async () => {
    await withServer(
      (req, res) => {
        res.setHeader('content-type', 'application/json; charset=utf-8');
        res.setHeader('retry-after', '3');
        res.setHeader('x-ratelimit-remaining', '7');
        res.setHeader('set-cookie', ['a=1', 'b=2']);
        res.end(JSON.stringify({ got: req.method }));
      },
      async (url, seen) => {
        const ctx = createConnectorContext('acme', { baseUrl: url }, { timeoutMs: 5000, headers: { authorization: 'Bearer t' } });
        const json = await ctx.http({ method: 'POST', path: '/a', query: { q: 'x y', skip: undefined }, body: { é: 'ü' } });
        expect(json.status).toBe(200);
        expect(json.body).toEqual({ got: 'POST' });
        expect(json.headers).toBeInstanceOf(Headers);
        expect(readRateLimitHeaders(json.headers)).toMatchObject({ retryAfterMs: 3000, remaining: 7 });
        expect(json.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
        const raw = await ctx.http({ method: 'PUT', path: 'b', rawBody: 'id,name\n1,Ann\n' });
        expect(raw.body).toEqual({ got: 'PUT' });
        await ctx.http({ method: 'GET', path: '/c' });
        await ctx.http({ method: 'DELETE', path: '/d' });

        expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['POST /a?q=x+y', 'PUT /b', 'GET /c', 'DELETE /d']);
        expect(seen[0]!.body).toBe('{"é":"ü"}');
        expect(seen[0]!.headers).toMatchObject({ 'content-type': 'application/json', 'content-length': String(Buffer.byteLength('{"é":"ü"}')), accept: 'application/json', authorization: 'Bearer t' });
        // As fetch does for a string body without a type.
        expect(seen[1]!.headers['content-type']).toBe('text/plain;charset=UTF-8');
        expect(seen[1]!.body).toBe('id,name\n1,Ann\n');
        expect(seen[2]!.headers['content-length']).toBeUndefined();
        expect(seen[3]!.headers['content-length']).toBe('0');
        expect(new Set(seen.map((s) => s.socket)).size).toBe(1);
      },
    );
  });

  test('gzip and brotli answers are decoded; a text answer stays text; an empty one is undefined', async () => {
    await withServer(
      (req, res) => {
        if (req.url === '/gzip') {
          res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
          res.end(gzipSync(JSON.stringify({ z: 'gzip' })));
        } else if (req.url === '/br') {
          res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'br' });
          res.end(brotliCompressSync(JSON.stringify({ z: 'br' })));
        } else if (req.url === '/text') {
          res.writeHead(502, { 'content-type': 'text/html' });
          res.end('\ufeff<html>bad gateway</html>');
        } else {
          res.writeHead(204);
          res.end();
        }
      },
      async (url, seen) => {
        const ctx = createConnectorContext('acme', { baseUrl: url }, { timeoutMs: 5000 });
        expect((await ctx.http({ method: 'GET', path: '/gzip' })).body).toEqual({ z: 'gzip' });
        expect((await ctx.http({ method: 'GET', path: '/br' })).body).toEqual({ z: 'br' });
        expect(await ctx.http({ method: 'GET', path: '/text' })).toMatchObject({ status: 502, body: '<html>bad gateway</html>' });
        expect(await ctx.http({ method: 'GET', path: '/empty' })).toMatchObject({ status: 204, body: undefined });
        expect(seen[0]!.headers['accept-encoding']).toMatch(/gzip/);
      },
    );
  });

  test('redirects: 307 keeps method and body, 303 becomes GET; too many fail as transient', async () => {
    await withServer(
      (req, res) => {
        if (req.url === '/old') res.writeHead(307, { location: '/new' }).end();
        else if (req.url === '/see') res.writeHead(303, { location: '/new' }).end();
        else if (req.url === '/loop') res.writeHead(302, { location: '/loop' }).end();
        else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ at: req.url, method: req.method }));
      },
      async (url, seen) => {
        const ctx = createConnectorContext('acme', { baseUrl: url }, { timeoutMs: 5000 });
        expect((await ctx.http({ method: 'POST', path: '/old', body: { a: 1 } })).body).toEqual({ at: '/new', method: 'POST' });
        expect(seen[1]!.body).toBe('{"a":1}');
        expect((await ctx.http({ method: 'POST', path: '/see', body: { a: 1 } })).body).toEqual({ at: '/new', method: 'GET' });
        expect(seen[3]!.body).toBe('');
        expect(seen[3]!.headers['content-type']).toBeUndefined();
        await expect(ctx.http({ method: 'GET', path: '/loop' })).rejects.toMatchObject({ failure: 'transient', message: expect.stringContaining('redirect') });
      },
    );
  });

  test('timeout covers a slow answer body; a run cancelled before the request fails at once', async () => {
    await withServer(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"a":');
        setTimeout(() => res.end('1}'), 1000).unref();
      },
      async (url) => {
        const slow = createConnectorContext('acme', { baseUrl: url }, { timeoutMs: 100 });
        const started = Date.now();
        await expect(slow.http({ method: 'GET', path: '/' })).rejects.toMatchObject({ failure: 'transient', message: expect.stringContaining('timed out after 100ms') });
        expect(Date.now() - started).toBeLessThan(900);
        const controller = new AbortController();
        controller.abort(new Error('stop'));
        const cancelled = createConnectorContext('acme', { baseUrl: url }, { signal: controller.signal });
        const error = await cancelled.http({ method: 'GET', path: '/' }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConnectorError);
        expect(error).toMatchObject({ failure: 'transient', message: expect.stringContaining('was cancelled') });
        expect((error as Error).cause).toEqual(new Error('stop'));
      },
    );
  });

  test('connection refused names the code; an injected fetch is used instead of node:http', async () => {
    const refused = createConnectorContext('acme', { baseUrl: 'http://127.0.0.1:9' }, { timeoutMs: 2000 });
    await expect(refused.http({ method: 'GET', path: '/x?key=secret' })).rejects.toMatchObject({ failure: 'transient', message: expect.stringMatching(/GET http:\/\/127\.0\.0\.1:9\/x failed: ECONNREFUSED/) });
    const calls: string[] = [];
    const fake = (async (input: string | URL | Request, init?: RequestInit) => {
      calls.push(`${init?.method} ${String(input)} ${String(init?.body)}`);
      return new Response(JSON.stringify({ ok: true }), { status: 201, headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    const ctx = createConnectorContext('acme', { baseUrl: 'https://api.example.test' }, { fetch: fake });
    expect(await ctx.http({ method: 'POST', path: '/v1', body: { a: 1 } })).toMatchObject({ status: 201, body: { ok: true } });
    expect(calls).toEqual(['POST https://api.example.test/v1 {"a":1}']);
  });
});
