/**
 * `cdp serve` (REST API + scheduler + jobs) and `cdp worker` (scheduler + jobs, no HTTP).
 * Reads the environment here — the secret key (CDP_SECRET_KEY) and `${ENV}` references — and
 * hands them down. Runs until SIGTERM/SIGINT, then shuts down gracefully: running syncs
 * finish their in-flight batches and commit before the process exits.
 */
import { SECRET_KEY_ENV, createLogger } from '../scheduler';
import { startServe } from '../server';
import type { Output } from './output';
import type { GlobalOptions } from './project-context';

export interface ServeCommandOptions {
  host: string;
  port: number;
  concurrency: number;
  work: boolean;
  tickMs?: number;
  heartbeatMs?: number;
  deadAfterMs?: number;
  control?: string;
  logRequests?: boolean;
}

export async function serveCommand(global: GlobalOptions, options: ServeCommandOptions, out: Output, mode: 'serve' | 'worker'): Promise<number> {
  const log = createLogger(undefined, { process: mode });
  const running = await startServe({
    projectDir: global.projectDir,
    env: process.env,
    secretKey: process.env[SECRET_KEY_ENV],
    controlUrl: options.control ?? process.env.CDP_CONTROL_URL,
    concurrency: options.concurrency,
    work: options.work,
    tickMs: options.tickMs,
    heartbeatMs: options.heartbeatMs,
    deadAfterMs: options.deadAfterMs,
    log,
    logRequests: options.logRequests,
    http: mode === 'serve' ? { host: options.host, port: options.port } : undefined,
  });
  if (!process.env[SECRET_KEY_ENV]) out.error(`warning: ${SECRET_KEY_ENV} is not set: destinations with secrets cannot be created through the API`);
  out.line(mode === 'serve' ? `cdp serve: web UI at ${running.url}/, API on ${running.url} (OpenAPI at ${running.url}/openapi.json), queue ${running.service.queue.name}` : `cdp worker ${running.service.workerId}: queue ${running.service.queue.name}`);
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      out.error(`${signal}: finishing running batches and committing, then exiting`);
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      void running.stop().finally(resolve);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  return 0;
}
