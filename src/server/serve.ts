/**
 * One `cdp serve` / `cdp worker` process: runtime + scheduler service (+ HTTP API for serve),
 * started in order and stopped in reverse on SIGTERM/SIGINT: the listener stops accepting,
 * the scheduler stops firing, the queue stops taking jobs and waits while running syncs
 * finish their in-flight batches and commit, then connections close.
 */
import { CdpRuntime, SchedulerService, type Logger, type RuntimeOptions, type SchedulerServiceOptions } from '../scheduler';
import { buildApiServer, type ApiServer } from './app';
import { createServerContext } from './context';

export interface ServeOptions extends RuntimeOptions, Omit<SchedulerServiceOptions, 'log'> {
  log: Logger;
  /** Listen on host:port; absent for a worker. */
  http?: { host: string; port: number };
  /** Build the API without listening (tests call it with fastify's inject). */
  buildApi?: boolean;
  logRequests?: boolean;
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
  const runtime = await CdpRuntime.open(options);
  let service: SchedulerService | undefined;
  let api: ApiServer | undefined;
  try {
    service = await SchedulerService.create(runtime, options);
    await service.start();
    let url: string | undefined;
    if (options.http || options.buildApi) api = buildApiServer(createServerContext(runtime, service, options.log), { logRequests: options.logRequests });
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
