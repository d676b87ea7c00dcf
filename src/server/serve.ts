/**
 * One `cdp serve` / `cdp worker` process: runtime + scheduler service (+ HTTP API for serve),
 * started in order and stopped in reverse on SIGTERM/SIGINT: the listener stops accepting,
 * the scheduler stops firing, the queue stops taking jobs and waits while running syncs
 * finish their in-flight batches and commit, then connections close.
 */
import { CdpError } from '../errors';
import type { Env } from '../project';
import { CdpRuntime, SchedulerService, type Logger, type RuntimeOptions, type SchedulerServiceOptions } from '../scheduler';
import { bindSegmentsControl } from '../segments';
import { buildApiServer, DEFAULT_RATE_LIMIT, type ApiServer, type RateLimitSettings } from './app';
import { createServerContext } from './context';

export interface ServeOptions extends RuntimeOptions, Omit<SchedulerServiceOptions, 'log'> {
  log: Logger;
  /** Listen on host:port; absent for a worker. */
  http?: { host: string; port: number };
  /** Build the API without listening (tests call it with fastify's inject). */
  buildApi?: boolean;
  logRequests?: boolean;
  /** Overrides CDP_CORS_ORIGINS / CDP_RATE_LIMIT from `env` (tests, embedding). */
  api?: { corsOrigins?: string[]; rateLimit?: RateLimitSettings | false };
}

/** Comma-separated browser origins allowed to call the API; unset: same-origin only. */
export const CORS_ORIGINS_ENV = 'CDP_CORS_ORIGINS';
/** `<requests>/<window>` per token (`6000/1m`, `100/10s`), a bare number per minute, or `off`. */
export const RATE_LIMIT_ENV = 'CDP_RATE_LIMIT';

export function corsOriginsFrom(env: Env): string[] {
  const raw = env[CORS_ORIGINS_ENV]?.trim();
  if (!raw) return [];
  return raw.split(',').map((o) => o.trim()).filter(Boolean).map((origin) => {
    // An origin is scheme://host[:port] exactly: a path or a trailing slash never matches a browser's Origin header.
    let valid = origin === '*';
    try {
      valid ||= new URL(origin).origin === origin;
    } catch {
      valid = false;
    }
    if (!valid) throw envError(CORS_ORIGINS_ENV, `'${origin}' is not an origin`, 'write scheme://host[:port] without a path, e.g. https://app.example.com, comma-separated (or * for any)');
    return origin;
  });
}

export function rateLimitFrom(env: Env): RateLimitSettings | false {
  const raw = env[RATE_LIMIT_ENV]?.trim();
  if (!raw) return DEFAULT_RATE_LIMIT;
  if (raw === 'off') return false;
  const match = /^(\d+)(?:\/(\d+)(s|m|h))?$/.exec(raw);
  const max = match ? Number(match[1]) : 0;
  if (!match || max < 1) throw envError(RATE_LIMIT_ENV, `'${raw}' is not a rate`, 'write requests per window per token, e.g. 6000/1m or 100/10s (a bare number is per minute), or off');
  const windowMs = match[2] ? Number(match[2]) * { s: 1_000, m: 60_000, h: 3_600_000 }[match[3] as 's' | 'm' | 'h'] : 60_000;
  if (windowMs < 1_000) throw envError(RATE_LIMIT_ENV, `'${raw}' has an empty window`, 'use a window of at least 1s, e.g. 100/10s');
  return { max, windowMs };
}

function envError(name: string, message: string, hint: string): CdpError {
  return new CdpError(message, { code: 'CONFIG', kind: 'config', where: `environment ${name}`, hint });
}

export interface RunningServe {
  runtime: CdpRuntime;
  service: SchedulerService;
  api?: ApiServer;
  /** `http://host:port` when listening. */
  url?: string;
  stop(): Promise<void>;
}

export async function startServe(options: ServeOptions): Promise<RunningServe> {
  // Read before anything opens: a bad setting is a one-line error, not a half-started server.
  const apiOptions = {
    logRequests: options.logRequests,
    corsOrigins: options.api?.corsOrigins ?? corsOriginsFrom(options.env),
    rateLimit: options.api?.rateLimit ?? rateLimitFrom(options.env),
  };
  const runtime = await CdpRuntime.open(options);
  // Segment builds (the scheduler's job) and the API must read API segments from the control
  // DB this process opened — which may not be cdp.yml's (`--control`, CDP_CONTROL_URL).
  bindSegmentsControl(runtime.project, runtime.control);
  let service: SchedulerService | undefined;
  let api: ApiServer | undefined;
  try {
    service = await SchedulerService.create(runtime, options);
    await service.start();
    let url: string | undefined;
    if (options.http || options.buildApi) api = buildApiServer(createServerContext(runtime, service, options.log), apiOptions);
    if (options.http && api) {
      url = await api.app.listen({ host: options.http.host, port: options.http.port });
      options.log.info('listening', { url });
    }
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        await api?.app.close();
        await service!.stop();
        await runtime.close();
      })());
    return { runtime, service, api, url, stop };
  } catch (error) {
    await service?.stop().catch(() => undefined);
    await runtime.close();
    throw error;
  }
}
