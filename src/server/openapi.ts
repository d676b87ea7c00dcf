/**
 * The OpenAPI 3.1 document, built from the route declarations (zod → JSON Schema with zod's
 * own `toJSONSchema`). Schemas that refer to themselves (rule trees) come out with local
 * `$defs`; those are hoisted into `components/schemas` and their `$ref`s rewritten, since a
 * `#/$defs/…` pointer would resolve against the document root.
 */
import { z } from 'zod';
import { RATE_LIMIT_EXEMPT, type RouteDef } from './route-kit';

type Json = Record<string, unknown>;

export const errorBodySchema = z.object({
  error: z.string().describe('machine-readable code'),
  message: z.string(),
  hint: z.string().optional(),
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

export function buildOpenApi(routes: RouteDef[], info: { title: string; version: string }): Json {
  const components: Record<string, Json> = { ErrorBody: schemaOf(errorBodySchema, 'output', 'ErrorBody', {}) };
  const paths: Record<string, Record<string, Json>> = {};
  routes.forEach((route, index) => {
    const name = operationId(route);
    const parameters: Json[] = [];
    for (const [where, schema] of [['path', route.params], ['query', route.query]] as const) {
      if (!schema) continue;
      const json = schemaOf(schema, 'input', `${name}_${where}`, components);
      const properties = (json.properties ?? {}) as Record<string, Json>;
      const required = new Set((json.required ?? []) as string[]);
      for (const [param, paramSchema] of Object.entries(properties)) {
        const description = typeof paramSchema.description === 'string' ? paramSchema.description : undefined;
        parameters.push({ name: param, in: where, required: where === 'path' || required.has(param), schema: paramSchema, ...(description ? { description } : {}) });
      }
    }
    const status = String(route.status ?? 200);
    const responses: Json = {
      [status]: route.text
        ? { description: 'OK', content: { 'text/plain': { schema: { type: 'string' } } } }
        : { description: 'OK', content: { 'application/json': { schema: schemaOf(route.response, 'output', `${name}_response`, components) } } },
      ...(route.body || route.params || route.query ? { 400: errorResponse('invalid request: each problem with its field path') } : {}),
      ...(route.scope !== 'public' ? { 401: errorResponse('missing, malformed, unknown or revoked token'), 403: errorResponse('the token lacks the scope this call needs') } : {}),
      ...(route.params ? { 404: errorResponse('no such object') } : {}),
      ...(route.conflict ? { 409: errorResponse(route.conflict) } : {}),
      ...(RATE_LIMIT_EXEMPT.includes(route.path) ? {} : { 429: rateLimited }),
    };
    const operation: Json = {
      operationId: name,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: [route.tag],
      ...(parameters.length ? { parameters } : {}),
      ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(route.body, 'input', `${name}_body`, components) } } } } : {}),
      responses,
      ...(route.scope === 'public' ? { security: [] } : { 'x-required-scope': route.scope }),
    };
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = operation;
    void index;
  });
  return {
    openapi: '3.1.0',
    info: { ...info, description: 'warehouse-cdp REST API. Authenticate with `Authorization: Bearer <token>`; tokens have scope read, write or admin.' },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: { schemas: components, securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'cdp_<id>_<secret> from `cdp keys create`' } } },
  };
}

/** The rate limiter's answer (per token, else per client address; see app.ts). */
const rateLimited: Json = {
  description: 'rate limited: too many requests with this token (or from this address, without one) in the window',
  headers: { 'Retry-After': { description: 'seconds to wait before trying again', schema: { type: 'integer' } } },
  content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } },
};

function errorResponse(description: string): Json {
  return { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } } };
}

function operationId(route: RouteDef): string {
  const words = route.path.split('/').filter(Boolean).map((p) => p.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+/g, '_'));
  return [route.method.toLowerCase(), ...words].join('_');
}

function schemaOf(schema: z.ZodType, io: 'input' | 'output', prefix: string, components: Record<string, Json>): Json {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  delete json.$schema;
  const defs = (json.$defs ?? {}) as Record<string, Json>;
  delete json.$defs;
  const rename = (ref: string) => `#/components/schemas/${prefix}_${ref.slice('#/$defs/'.length)}`;
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (node && typeof node === 'object') {
      const out: Json = {};
      for (const [k, v] of Object.entries(node as Json)) {
        if (k === '$ref' && typeof v === 'string') out[k] = v === '#' ? `#/components/schemas/${prefix}_root` : v.startsWith('#/$defs/') ? rename(v) : v;
        else out[k] = rewrite(v);
      }
      return out;
    }
    return node;
  };
  for (const [name, def] of Object.entries(defs)) components[`${prefix}_${name}`] = rewrite(def) as Json;
  const body = rewrite(json) as Json;
  if (JSON.stringify(body).includes(`#/components/schemas/${prefix}_root`)) {
    components[`${prefix}_root`] = body;
    return { $ref: `#/components/schemas/${prefix}_root` };
  }
  return body;
}
