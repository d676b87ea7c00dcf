/**
 * CORS and rate limiting in front of the API. CORS is off by default (no header: browsers
 * keep other sites from reading answers) and answers only the configured origins. The rate
 * limit counts per verified token — a made-up secret with someone's token id does not spend
 * their budget — or per client IP without one; going over it is 429 with Retry-After and the
 * JSON error body; /health is never limited. Settings come from CDP_CORS_ORIGINS and
 * CDP_RATE_LIMIT, each wrong value a one-line error.
 */
import { createToken, createServerContext, buildApiServer } from '../../src/server';
import { corsOriginsFrom, rateLimitFrom } from '../../src/server/serve';
import { DEFAULT_RATE_LIMIT } from '../../src/server/app';
import { silentLogger } from '../../src/scheduler';
import type { CdpError } from '../../src/errors';
import { openServerFixture, type ServerFixture } from './server-fixture';

const APP = 'https://app.example.com';

describe('CORS and rate limits', () => {
  let fx: ServerFixture;
  const call = async (method: string, url: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${fx.serve.url}${url}`, { method, headers });
    const body = await response.text();
    return { status: response.status, headers: Object.fromEntries(response.headers.entries()), body };
  };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  beforeAll(async () => {
    fx = await openServerFixture({ people: 10, listen: true, api: { corsOrigins: [APP], rateLimit: { max: 5, windowMs: 60_000 } } });
  });
  afterAll(async () => {
    await fx?.close();
  });

  test('a configured origin gets CORS answers, others none', async () => {
    const preflight = await call('OPTIONS', '/segments', { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(APP);
    expect(preflight.headers['access-control-allow-headers']).toMatch(/authorization/);
    expect(preflight.headers['access-control-allow-methods']).toMatch(/PUT/);
    const other = await call('OPTIONS', '/segments', { origin: 'https://evil.example', 'access-control-request-method': 'GET' });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    const health = await call('GET', '/health', { origin: APP });
    expect(health.headers['access-control-allow-origin']).toBe(APP);
  });

  test('over the limit: 429 with Retry-After and a JSON error; counted per verified token, else per address', async () => {
    for (let i = 0; i < 5; i++) expect((await call('GET', '/models', bearer(fx.tokens.read))).status).toBe(200);
    const limited = await call('GET', '/models', { ...bearer(fx.tokens.read), origin: APP });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.headers['content-type']).toMatch(/application\/json/);
    expect(JSON.parse(limited.body)).toEqual({ error: 'rate_limited', message: expect.stringMatching(/more than 5 requests in 1 minute/), hint: expect.stringMatching(/^retry after /) });
    // The browser can read why: CORS headers are on the 429 too.
    expect(limited.headers['access-control-allow-origin']).toBe(APP);

    // Another token has its own budget.
    expect((await call('GET', '/models', bearer(fx.tokens.write))).status).toBe(200);
    // The reader's id with a made-up secret is not the reader: it is counted by address, and refused as unknown.
    const readerId = /^cdp_([0-9a-f]{32})_/.exec(fx.tokens.read)![1]!;
    expect((await call('GET', '/models', bearer(`cdp_${readerId}_${'x'.repeat(43)}`))).status).toBe(401);
    // Health probes are never limited.
    for (let i = 0; i < 8; i++) expect((await call('GET', '/health')).status).toBe(200);
    for (let i = 0; i < 8; i++) expect((await call('GET', '/health?probe=k8s')).status).toBe(200);
    // Without a token: the address's budget (1 used above) runs out after 4 more.
    const anonymous = [];
    for (let i = 0; i < 5; i++) anonymous.push((await call('GET', '/models')).status);
    expect(anonymous).toEqual([401, 401, 401, 401, 429]);
  });

  test('defaults: no CORS headers (same-origin only); the default limit applies', async () => {
    // fastify's inject needs an ESM-only dependency Node 20's jest cannot load: listen instead.
    const api = buildApiServer(createServerContext(fx.serve.runtime, fx.serve.service, silentLogger));
    const url = await api.app.listen({ host: '127.0.0.1', port: 0 });
    const token = (await createToken(fx.serve.runtime.control, 'defaults', 'read')).token;
    const answer = await fetch(`${url}/models`, { headers: { origin: APP, authorization: `Bearer ${token}` } });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
    expect(answer.headers.get('x-ratelimit-limit')).toBe(String(DEFAULT_RATE_LIMIT.max));
    const preflight = await fetch(`${url}/models`, { method: 'OPTIONS', headers: { origin: APP, 'access-control-request-method': 'GET' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    await api.app.close();
  });

  test('settings from the environment; a wrong value is one line naming the variable', () => {
    expect(corsOriginsFrom({})).toEqual([]);
    expect(corsOriginsFrom({ CDP_CORS_ORIGINS: 'https://a.example.com, http://localhost:5173' })).toEqual(['https://a.example.com', 'http://localhost:5173']);
    expect(rateLimitFrom({})).toEqual(DEFAULT_RATE_LIMIT);
    expect(rateLimitFrom({ CDP_RATE_LIMIT: '100/10s' })).toEqual({ max: 100, windowMs: 10_000 });
    expect(rateLimitFrom({ CDP_RATE_LIMIT: '6000' })).toEqual({ max: 6000, windowMs: 60_000 });
    expect(rateLimitFrom({ CDP_RATE_LIMIT: 'off' })).toBe(false);
    const lineOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return (error as CdpError).toLine();
      }
      return 'no error';
    };
    expect(lineOf(() => corsOriginsFrom({ CDP_CORS_ORIGINS: 'https://a.example.com/app' }))).toBe(
      "environment CDP_CORS_ORIGINS: 'https://a.example.com/app' is not an origin — write scheme://host[:port] without a path, e.g. https://app.example.com, comma-separated (or * for any)",
    );
    expect(lineOf(() => rateLimitFrom({ CDP_RATE_LIMIT: 'lots' }))).toMatch(/^environment CDP_RATE_LIMIT: 'lots' is not a rate — write requests per window per token, e\.g\. 6000\/1m/);
    expect(lineOf(() => rateLimitFrom({ CDP_RATE_LIMIT: '0' }))).toMatch(/is not a rate/);
  });
});
