/**
 * How a route is declared: method, path, least scope, and zod schemas for params, query,
 * body and response. The same declaration registers the fastify handler (validation with
 * zod: a bad request is 400 with each field's path) and feeds the OpenAPI document, so the
 * API and its description cannot drift. Responses are parsed through their schema too:
 * zod drops fields a schema does not name, so an internal field (a secret) cannot leak by
 * accident.
 */
import type { z } from 'zod';
import type { Actor, Scope } from './auth';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  actor: Actor | undefined;
}

export interface RouteDef<P extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType, B extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  method: HttpMethod;
  /** OpenAPI style: `/syncs/{name}`. */
  path: string;
  /** Least scope; `public` needs no token (health, the OpenAPI document). */
  scope: Scope | 'public';
  tag: string;
  summary: string;
  description?: string;
  params?: P;
  query?: Q;
  body?: B;
  response: R;
  /** Success status (200 by default; 201 created, 202 accepted). */
  status?: 200 | 201 | 202;
  /** Plain text instead of JSON (Prometheus metrics). */
  text?: boolean;
  /** When the route answers 409 (declared in /openapi.json with the error body). */
  conflict?: string;
  handler(input: RouteInput<z.output<P>, z.output<Q>, z.output<B>>): Promise<z.input<R>>;
}

/** Paths the rate limiter lets through (probes must keep working while a client is throttled). */
export const RATE_LIMIT_EXEMPT: readonly string[] = ['/health'];

/** Keeps each route's types while collecting them in one list. */
export function defineRoute<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType>(route: RouteDef<P, Q, B, R>): RouteDef {
  return route as unknown as RouteDef;
}
