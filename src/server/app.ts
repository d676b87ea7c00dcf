/**
 * The HTTP server (fastify): registers every declared route with zod validation, token
 * auth by scope, error mapping, request metrics and one log line per request (method, route,
 * status, milliseconds — never headers or bodies). `/openapi.json` is built from the same
 * declarations.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { messageOf } from '../errors';
import { createAuthenticator, type Actor } from './auth';
import type { ServerContext } from './context';
import { httpError, zodIssues } from './errors-http';
import { Metrics } from './metrics';
import { buildOpenApi } from './openapi';
import type { RouteDef } from './route-kit';
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

export function buildApiServer(ctx: ServerContext, options: { version?: string; logRequests?: boolean } = {}): ApiServer {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024, return503OnClosing: true, forceCloseConnections: 'idle' });
  const metrics = new Metrics();
  const authenticate = createAuthenticator(ctx.runtime.control);
  const routes: RouteDef[] = [];
  const openapiHolder: { doc: Record<string, unknown> } = { doc: {} };
  routes.push(...systemRoutes(ctx, metrics, () => openapiHolder.doc), ...modelRoutes(ctx), ...profileRoutes(ctx), ...destinationRoutes(ctx), ...syncRoutes(ctx), ...segmentRoutes(ctx));

  // Bodies are parsed by zod, not by fastify's schema compiler: one validation, one error shape.
  app.setErrorHandler((error: Error, _request, reply) => {
    const code = (error as { statusCode?: number }).statusCode;
    if (code && code < 500) return reply.status(code).send({ error: 'bad_request', message: error.message });
    ctx.log.error('request failed', { error: messageOf(error) });
    return reply.status(500).send({ error: 'internal', message: 'internal error; the server log has the details' });
  });
  app.setNotFoundHandler((request, reply) => reply.status(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}`, hint: 'see /openapi.json' }));

  for (const route of routes) {
    const url = route.path.replace(/\{([^}]+)\}/g, ':$1');
    app.route({
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
  registerUiRoutes(app); // the web UI's static assets (no auth: they hold no data)
  openapiHolder.doc = buildOpenApi(routes, { title: 'warehouse-cdp', version: options.version ?? '0.1.0' });
  return { app, routes, openapi: openapiHolder.doc, metrics };
}

function parsePart<S extends z.ZodType>(schema: S | undefined, value: unknown, part: 'params' | 'query' | 'body'): z.output<S> {
  if (!schema) return undefined as z.output<S>;
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ValidationError(zodIssues(parsed.error, part === 'body' ? [] : [part]));
  return parsed.data;
}
