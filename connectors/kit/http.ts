/**
 * Shared HTTP for connectors: the `ctx.http` every connector gets (base URL, timeout,
 * cancellation, JSON in and out), the parsing of rate-limit headers (Retry-After, the
 * common X-RateLimit-* families) and the mapping of a failed HTTP answer to a classified
 * `ConnectorError`. Invariants: `http` never throws for an HTTP status (the connector
 * decides what a status means); a network failure or timeout becomes a `ConnectorError`
 * with failure 'transient', a cancellation one with failure 'transient' whose cause is the
 * abort reason; vendor bodies are validated with zod through `parseResponse`.
 */
import type { z } from 'zod';
import { ConnectorError, type ConnectorFailure } from './connector-error';
import { NodeHttpFailure, nodeHttpRequest } from './node-http';
import type { ConnectorContext, HttpRequest, HttpResponse } from './types';

export const DEFAULT_HTTP_TIMEOUT_MS = 30_000;

export interface HttpClientOptions {
  /** Destination name, used in error messages (`destination <name>: …`). */
  destination: string;
  /** Relative request paths resolve against this (the connector's `baseUrl` option). */
  baseUrl?: string;
  /** Per request, covering connect, send and reading the whole body. */
  timeoutMs?: number;
  /** Cancels every request of the run. */
  signal?: AbortSignal;
  /** Headers added to every request (a request's own headers win). */
  headers?: Record<string, string>;
  /**
   * Sends through this fetch instead (tests, benchmarks). Without it requests go through
   * `node:http`/`node:https` with keep-alive agents (node-http.ts: far less garbage per request).
   */
  fetch?: typeof fetch;
}

/** Builds the `http` function of a ConnectorContext. */
export function createHttpClient(options: HttpClientOptions): (request: HttpRequest) => Promise<HttpResponse> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  const prepare = (request: HttpRequest) => {
    const url = buildUrl(options.baseUrl, request.path, request.query);
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers, ...request.headers };
    let body: string | undefined;
    if (request.rawBody !== undefined) body = request.rawBody;
    else if (request.body !== undefined) {
      body = JSON.stringify(request.body);
      if (!hasHeader(headers, 'content-type')) headers['content-type'] = 'application/json';
    }
    return { url, headers, body };
  };
  const cancelled = (request: HttpRequest, url: string, cause: unknown) =>
    new ConnectorError(options.destination, 'transient', `${request.method} ${redactUrl(url)} was cancelled`, { cause: options.signal?.reason ?? cause, hint: 'the run was cancelled; rerun the sync' });
  const timedOut = (request: HttpRequest, url: string, cause: unknown) =>
    new ConnectorError(options.destination, 'transient', `${request.method} ${redactUrl(url)} timed out after ${timeoutMs}ms`, { cause, hint: 'the destination is slow or unreachable; the engine retries' });
  const failed = (request: HttpRequest, url: string, cause: unknown) =>
    new ConnectorError(options.destination, 'transient', `${request.method} ${redactUrl(url)} failed: ${networkMessage(cause)}`, { cause, hint: 'check the destination URL and the network' });

  const injected = options.fetch;
  if (injected) {
    return async (request) => {
      const { url, headers, body } = prepare(request);
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
      try {
        const response = await injected(url, { method: request.method, headers, body, signal });
        const text = await response.text();
        return { status: response.status, headers: response.headers, body: parseBodyText(text, response.headers.get('content-type')) };
      } catch (cause) {
        if (options.signal?.aborted) throw cancelled(request, url, cause);
        if (timeout.aborted) throw timedOut(request, url, cause);
        throw failed(request, url, cause);
      }
    };
  }
  return async (request) => {
    const { url, headers, body } = prepare(request);
    try {
      const answer = await nodeHttpRequest(url, { method: request.method, headers, body, timeoutMs, signal: options.signal });
      return { status: answer.status, headers: answer.headers, body: parseBodyText(answer.text, answer.headers.get('content-type')) };
    } catch (cause) {
      if (options.signal?.aborted) throw cancelled(request, url, cause);
      if (cause instanceof NodeHttpFailure && cause.kind === 'timeout') throw timedOut(request, url, cause);
      throw failed(request, url, cause instanceof NodeHttpFailure && cause.cause !== undefined ? cause.cause : cause);
    }
  };
}

/** A ConnectorContext for a validated config: `baseUrl` is taken from the config when it has one. */
export function createConnectorContext<Config>(
  destination: string,
  config: Config,
  options: Omit<HttpClientOptions, 'destination' | 'baseUrl'> & {
    baseUrl?: string;
    run?: ConnectorContext<Config>['run'];
    baseDir?: string;
    /** Receives each batch's match-rate report from ad connectors (`ConnectorContext.report`). */
    report?: ConnectorContext<Config>['report'];
    /**
     * Runs before every request (the engine's shared rate budget takes a slot here); a
     * returned function is called when the request is over, answered or not.
     */
    beforeRequest?: () => Promise<void | (() => void)>;
    /** Sees every response (the engine pauses the shared budget on 429). */
    afterResponse?: (response: HttpResponse) => void;
  } = {},
): ConnectorContext<Config> {
  const signal = options.signal ?? new AbortController().signal;
  const baseUrl = options.baseUrl ?? configBaseUrl(config);
  const raw = createHttpClient({ ...options, destination, baseUrl, signal });
  const { beforeRequest, afterResponse } = options;
  const http =
    beforeRequest || afterResponse
      ? async (request: HttpRequest) => {
          const finished = beforeRequest ? await beforeRequest() : undefined;
          try {
            const response = await raw(request);
            afterResponse?.(response);
            return response;
          } finally {
            if (finished) finished();
          }
        }
      : raw;
  return { config, signal, http, run: options.run, baseDir: options.baseDir, ...(options.report ? { report: options.report } : {}) };
}

function configBaseUrl(config: unknown): string | undefined {
  if (typeof config === 'object' && config !== null && 'baseUrl' in config) {
    const value = (config as { baseUrl: unknown }).baseUrl;
    return typeof value === 'string' ? value : undefined;
  }
  return undefined;
}

function buildUrl(baseUrl: string | undefined, path: string, query: HttpRequest['query']): string {
  const absolute = /^https?:\/\//i.test(path);
  if (!absolute && !baseUrl) throw new Error(`relative path ${path} needs a baseUrl`);
  const url = absolute ? new URL(path) : new URL(`${baseUrl!.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`);
  for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
  return url.toString();
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((k) => k.toLowerCase() === name);
}

function parseBodyText(text: string, contentType: string | null): unknown {
  if (text === '') return undefined;
  if (contentType?.includes('json') || /^\s*[[{]/.test(text)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

function networkMessage(cause: unknown): string {
  // node:http errors carry the code (ECONNREFUSED …); undici puts it in `cause`.
  const own = (cause as { code?: unknown } | undefined)?.code;
  if (typeof own === 'string') return own;
  const inner = (cause as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  if (inner?.code) return inner.code;
  return cause instanceof Error ? cause.message : String(cause);
}

/** Strips query strings (they may carry keys) from URLs shown in messages. */
function redactUrl(url: string): string {
  return url.replace(/\?.*$/, '');
}

// ---------------------------------------------------------------------------------------
// Rate-limit headers

/**
 * Retry-After as milliseconds: delta-seconds (`120`, also fractional) or an HTTP date.
 * Undefined when absent or unreadable; never negative.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

export interface RateLimitInfo {
  /** Requests allowed per window. */
  limit?: number;
  /** Requests left in the current window. */
  remaining?: number;
  /** Milliseconds until the window resets (or Retry-After, when given). */
  resetMs?: number;
  /** The server asked us to wait this long before the next request. */
  retryAfterMs?: number;
}

/**
 * Reads the rate-limit headers vendors send: `Retry-After`; `X-RateLimit-{Limit,Remaining,Reset}`
 * and the IETF `RateLimit-*` draft (reset in seconds, or an epoch when large);
 * HubSpot's `X-HubSpot-RateLimit-{Max,Remaining,Interval-Milliseconds}`.
 */
export function readRateLimitHeaders(headers: Headers, nowMs: number = Date.now()): RateLimitInfo {
  const num = (...names: string[]): number | undefined => {
    for (const name of names) {
      const raw = headers.get(name);
      if (raw !== null && raw.trim() !== '' && Number.isFinite(Number(raw))) return Number(raw);
    }
    return undefined;
  };
  const info: RateLimitInfo = {};
  const limit = num('x-ratelimit-limit', 'ratelimit-limit', 'x-hubspot-ratelimit-max');
  const remaining = num('x-ratelimit-remaining', 'ratelimit-remaining', 'x-hubspot-ratelimit-remaining');
  if (limit !== undefined) info.limit = limit;
  if (remaining !== undefined) info.remaining = remaining;
  const reset = num('x-ratelimit-reset', 'ratelimit-reset');
  if (reset !== undefined) {
    // Large values are epoch seconds (GitHub style); small ones are seconds from now.
    info.resetMs = reset > 1e9 ? Math.max(0, reset * 1000 - nowMs) : reset * 1000;
  }
  const interval = num('x-hubspot-ratelimit-interval-milliseconds');
  if (info.resetMs === undefined && interval !== undefined) info.resetMs = interval;
  const retryAfter = parseRetryAfter(headers.get('retry-after'), nowMs);
  if (retryAfter !== undefined) {
    info.retryAfterMs = retryAfter;
    info.resetMs = retryAfter;
  }
  return info;
}

// ---------------------------------------------------------------------------------------
// Mapping HTTP failures

/** The class of failure an HTTP status means when the whole request failed. */
export function failureForStatus(status: number): ConnectorFailure | undefined {
  if (status >= 200 && status < 300) return undefined;
  if (status === 401 || status === 403) return 'auth';
  if (status === 429) return 'rate_limited';
  if (status === 408 || status === 425 || status >= 500) return 'transient';
  if (status === 404) return 'config';
  return 'permanent';
}

/**
 * Throws a classified ConnectorError for a non-2xx response (does nothing for 2xx).
 * `what` names the call (`upsert contacts`); the vendor's message is taken from common
 * body fields (`message`, `error`, `error_description`, `detail`).
 */
export function throwForStatus(destination: string, response: HttpResponse, what: string): void {
  const failure = failureForStatus(response.status);
  if (!failure) return;
  const vendorMessage = vendorMessageOf(response.body);
  const message = `${what}: HTTP ${response.status}${vendorMessage ? ` — ${vendorMessage}` : ''}`;
  const hints: Record<ConnectorFailure, string> = {
    auth: 'check the credentials in destinations.yml (expired or missing a scope?)',
    config: 'check the destination settings (base URL, object or list ids)',
    rate_limited: 'the engine waits and retries; lower the sync frequency if this persists',
    transient: 'the destination had a problem; the engine retries',
    permanent: 'the request was refused; see the reason',
  };
  throw new ConnectorError(destination, failure, message, {
    hint: hints[failure],
    httpStatus: response.status,
    retryAfterMs: readRateLimitHeaders(response.headers).retryAfterMs,
  });
}

/** The vendor's own error text from a JSON or text body, when there is one. */
export function vendorMessageOf(body: unknown): string | undefined {
  if (typeof body === 'string') return body.slice(0, 300) || undefined;
  if (typeof body !== 'object' || body === null) return undefined;
  for (const key of ['message', 'error_description', 'error', 'detail', 'title']) {
    const value = (body as Record<string, unknown>)[key];
    if (typeof value === 'string' && value !== '') return value.slice(0, 300);
    if (typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string') {
      return String((value as { message: string }).message).slice(0, 300);
    }
  }
  return undefined;
}

/**
 * Validates a vendor response body with zod. A body that does not match is the vendor
 * changing under us or a proxy answering: a whole-batch 'transient' failure (the engine's
 * retry budget bounds it), never a silent success.
 */
export function parseResponse<S extends z.ZodType>(destination: string, schema: S, response: HttpResponse, what: string): z.output<S> {
  const result = schema.safeParse(response.body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const at = issue && issue.path.length ? ` at ${issue.path.join('.')}` : '';
  throw new ConnectorError(destination, 'transient', `${what}: unexpected response (HTTP ${response.status})${at}: ${issue?.message ?? 'invalid'}`, {
    hint: 'the destination answered in a shape we do not know; report it if it persists',
    httpStatus: response.status,
  });
}
