/**
 * The HTTP server (fastify): registers every declared route with zod validation, token
 * auth by scope, error mapping, request metrics and one log line per request (method, route,
 * status, milliseconds — never headers or bodies). `/openapi.json` is built from the same
 * declarations.
 *
 * Before any route: CORS (@fastify/cors) only for the origins the operator lists — none by
 * default, so only pages served by this server (the web UI) can read answers — and a rate
 * limit (@fastify/rate-limit) per verified token, or per client IP without one, answered as
 * 429 with Retry-After and our JSON error body. The limit is in this process's memory: with
 * several `cdp serve` processes each enforces it for the requests it receives.
 */
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { messageOf } from '../errors';
import { createAuthenticator, type Actor } from './auth';
import type { ServerContext } from './context';
import { httpError, zodIssues } from './errors-http';
import { Metrics } from './metrics';
import { buildOpenApi } from './openapi';
import { RATE_LIMIT_EXEMPT, type RouteDef } from './route-kit';
import { destinationRoutes } from './routes/destinations';
import { modelRoutes } from './routes/models';
import { profileRoutes } from './routes/profiles';
import { segmentRoutes } from './routes/segments';
import { syncRoutes } from './routes/syncs';
import { systemRoutes } from './routes/system';
import { registerUiRoutes } from './ui-assets';
import { ValidationError } from '../scheduler';

export interface ApiServer {
  app: FastifyInstance;
  routes: RouteDef[];
  openapi: Record<string, unknown>;
  metrics: Metrics;
}

export interface RateLimitSettings {
  /** Requests per key (a verified token, else the client IP) per window. */
  max: number;
  windowMs: number;
}

/**
 * High enough that one token driving 200 concurrent clients (`npm run bench -- api`, a
 * personalisation backend) is not throttled, low enough that a runaway script is stopped
 * before it starves everyone else: 1,000 requests a second, per token.
 */
export const DEFAULT_RATE_LIMIT: RateLimitSettings = { max: 60_000, windowMs: 60_000 };

export interface ApiOptions {
  version?: string;
  logRequests?: boolean;
  /** Browser origins allowed to call the API (`https://app.example.com`, or `*`); empty: same-origin only. */
  corsOrigins?: string[];
  /** false: no limit. */
  rateLimit?: RateLimitSettings | false;
}

export function buildApiServer(ctx: ServerContext, options: ApiOptions = {}): ApiServer {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024, return503OnClosing: true, forceCloseConnections: 'idle' });
  const metrics = new Metrics();
  const authenticate = createAuthenticator(ctx.runtime.control);
  // Registered first, so a 429 carries CORS headers too (a browser can then read why).
  if (options.corsOrigins?.length) {
    void app.register(cors, {
      origin: options.corsOrigins.includes('*') ? '*' : options.corsOrigins,
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type'],
      exposedHeaders: ['retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
      // Bearer tokens, not cookies: nothing ambient for another site to borrow.
      credentials: false,
      maxAge: 600,
    });
  }
  const limit = options.rateLimit === undefined ? DEFAULT_RATE_LIMIT : options.rateLimit;
  if (limit) {
    void app.register(rateLimit, {
      global: true,
      max: limit.max,
      timeWindow: limit.windowMs,
      // Probes must keep working while a client is throttled.
      // The path without its query string: `/health?probe=1` is still the probe.
      allowList: (request) => RATE_LIMIT_EXEMPT.includes(request.url.split('?')[0]!),
      keyGenerator: async (request) => {
        const actor = await authenticate.identify(request.headers.authorization);
        return actor ? `token:${actor.tokenId}` : `ip:${request.ip}`;
      },
      errorResponseBuilder: (_request, context) => ({
        statusCode: 429,
        error: 'rate_limited',
        message: `rate limit: more than ${context.max} requests in ${formatWindow(limit.windowMs)} with this token (or from this address, without one)`,
        hint: `retry after ${context.after}; or ask the operator to raise the limit (CDP_RATE_LIMIT)`,
      }),
    });
  }
  const routes: RouteDef[] = [];
  const openapiHolder: { doc: Record<string, unknown> } = { doc: {} };
  routes.push(...systemRoutes(ctx, metrics, () => openapiHolder.doc), ...modelRoutes(ctx), ...profileRoutes(ctx), ...destinationRoutes(ctx), ...syncRoutes(ctx), ...segmentRoutes(ctx));

  // Bodies are parsed by zod, not by fastify's schema compiler: one validation, one error shape.
  app.setErrorHandler((error: Error, _request, reply) => {
    const code = (error as { statusCode?: number }).statusCode;
    if (code === 429) {
      const limited = error as unknown as { error: string; message: string; hint: string };
      return reply.status(429).send({ error: limited.error, message: limited.message, hint: limited.hint });
    }
    if (code && code < 500) return reply.status(code).send({ error: 'bad_request', message: error.message });
    ctx.log.error('request failed', { error: messageOf(error) });
    return reply.status(500).send({ error: 'internal', message: 'internal error; the server log has the details' });
  });
  app.setNotFoundHandler((request, reply) => reply.status(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}`, hint: 'see /openapi.json' }));

  // Routes are added once the plugins above have loaded: the rate limiter attaches itself to
  // each route as it is added, so a route added before it would go unlimited.
  void app.register(async (scope) => {
    for (const route of routes) {
      const url = route.path.replace(/\{([^}]+)\}/g, ':$1');
      scope.route({
        method: route.method,
        url,
        handler: async (request: FastifyRequest, reply: FastifyReply) => {
          const started = process.hrtime.bigint();
          let status: number = route.status ?? 200;
          try {
            const actor: Actor | undefined = route.scope === 'public' ? undefined : await authenticate(request.headers.authorization, route.scope);
            const params = parsePart(route.params, request.params, 'params');
            const query = parsePart(route.query, request.query, 'query');
            const body = parsePart(route.body, request.body ?? {}, 'body');
            const result = await route.handler({ params, query, body, actor });
            if (route.text) return reply.status(status).type('text/plain; version=0.0.4').send(String(result));
            return reply.status(status).send(route.response.parse(result));
          } catch (error) {
            const mapped = httpError(error);
            status = mapped.status;
            if (status >= 500) ctx.log.error('request failed', { route: route.path, error: messageOf(error) });
            return reply.status(status).send(mapped.body);
          } finally {
            const seconds = Number(process.hrtime.bigint() - started) / 1e9;
            metrics.observeRequest(route.method, route.path, status, seconds);
            if (options.logRequests) ctx.log.info('request', { method: route.method, route: route.path, status, ms: Math.round(seconds * 1000) });
          }
        },
      });
    }
    registerUiRoutes(scope); // the web UI's static assets (no auth: they hold no data)
  });
  openapiHolder.doc = buildOpenApi(routes, { title: 'warehouse-cdp', version: options.version ?? '0.1.0' });
  return { app, routes, openapi: openapiHolder.doc, metrics };
}

function formatWindow(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} minute(s)` : `${ms / 1000} second(s)`;
}

function parsePart<S extends z.ZodType>(schema: S | undefined, value: unknown, part: 'params' | 'query' | 'body'): z.output<S> {
  if (!schema) return undefined as z.output<S>;
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ValidationError(zodIssues(parsed.error, part === 'body' ? [] : [part]));
  return parsed.data;
}
