/**
 * One long-running scheduler + worker process, composed: the runtime, a queue (in-process on
 * SQLite, graphile-worker on PostgreSQL), the schedule ticker, the job handler and fleet
 * membership. `stop()` is the graceful shutdown SIGTERM triggers: stop firing, stop taking
 * jobs, let running syncs finish their in-flight batches and commit (the queue's abort
 * signal reaches the sync engine's cancellation), then leave the fleet.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { messageOf } from '../errors';
import { channelsSender, loadAlertsConfig, type AlertSender, type AlertsConfig } from './alerts';
import { FleetMember } from './fleet';
import { createGraphileQueue } from './graphile-queue';
import { createInProcessQueue } from './in-process-queue';
import { insertJob, laneOf, unfinishedJobs, type JobRequest } from './job-records';
import type { JobQueue } from './job-queue';
import type { Logger } from './logger';
import { createJobHandler } from './run-job';
import type { CdpRuntime } from './runtime';
import { parseScheduleValue } from './schedule-spec';
import { Scheduler, type ScheduleEntry } from './scheduler';

export interface SchedulerServiceOptions {
  /** Jobs run at once by this process (different lanes). */
  concurrency?: number;
  tickMs?: number;
  reconcileMs?: number;
  heartbeatMs?: number;
  deadAfterMs?: number;
  missedGraceMs?: number;
  /** Take jobs (false: only fire schedules and serve; another process works). */
  work?: boolean;
  log: Logger;
  alertSender?: AlertSender;
  retryBaseMs?: number;
}

export class SchedulerService {
  readonly workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  readonly scheduler: Scheduler;
  private fleet?: FleetMember;
  private reconcileTimer?: NodeJS.Timeout;
  private alerts: { config: AlertsConfig; send: AlertSender };

  private constructor(
    readonly runtime: CdpRuntime,
    readonly queue: JobQueue,
    private readonly options: SchedulerServiceOptions,
  ) {
    this.scheduler = new Scheduler(runtime.control, runtime.name, (request) => this.enqueue(request), { tickMs: options.tickMs, missedGraceMs: options.missedGraceMs, log: options.log });
    const config = loadAlertsConfig(runtime.project.dir, runtime.env);
    this.alerts = { config, send: options.alertSender ?? channelsSender(config, options.log) };
  }

  static async create(runtime: CdpRuntime, options: SchedulerServiceOptions): Promise<SchedulerService> {
    const concurrency = options.concurrency ?? 4;
    const url = runtime.control.url;
    let queue: JobQueue;
    if (url.startsWith('sqlite')) queue = createInProcessQueue({ concurrency });
    else {
      const parsed = new URL(url.replace(/^postgresql:/, 'postgres:'));
      const schema = parsed.searchParams.get('schema');
      parsed.searchParams.delete('schema');
      queue = await createGraphileQueue({ connectionString: parsed.toString(), schema: schema ? `${schema}_jobs` : 'cdp_jobs_queue', concurrency });
    }
    return new SchedulerService(runtime, queue, options);
  }

  /** Records a job and hands it to the queue; returns its id. */
  async enqueue(request: JobRequest): Promise<string> {
    const id = await insertJob(this.runtime.control, this.runtime.name, request);
    await this.queue.push(id, laneOf(request));
    return id;
  }

  /** Mirrors sync definitions and their schedules (files + API). */
  async reconcile(): Promise<void> {
    const catalog = await this.runtime.catalog({ mirror: true });
    const entries: ScheduleEntry[] = [];
    for (const sync of catalog.syncs.values()) {
      const spec = sync.spec.enabled ? parseScheduleValue(sync.spec.schedule, sync.file) : { kind: 'manual' as const };
      entries.push({ key: `sync:${sync.name}`, spec });
    }
    await this.scheduler.reconcile(entries);
  }

  async start(): Promise<void> {
    const log = this.options.log;
    await this.reconcile();
    if (this.options.work !== false) {
      if (this.queue.name === 'in-process') {
        // This process is the only worker of a SQLite control DB: what a previous one left is ours to resume.
        for (const job of await unfinishedJobs(this.runtime.control, this.runtime.name)) await this.queue.push(job.id, laneOf(job));
      }
      await this.queue.start(
        createJobHandler({
          runtime: this.runtime,
          log,
          workerId: this.workerId,
          alerts: this.alerts,
          onSucceeded: async (tokens) => void (await this.scheduler.onSucceeded(tokens)),
          retryBaseMs: this.options.retryBaseMs,
        }),
      );
      this.fleet = new FleetMember(this.runtime.control, this.workerId, this.queue, { heartbeatMs: this.options.heartbeatMs, deadAfterMs: this.options.deadAfterMs, log });
      await this.fleet.join();
    }
    this.scheduler.start();
    const reconcileLoop = () => {
      this.reconcileTimer = setTimeout(() => {
        this.reconcile()
          .catch((error: unknown) => log.warn('reconciling schedules failed', { error: messageOf(error) }))
          .finally(() => {
            if (this.reconcileTimer) reconcileLoop();
          });
      }, this.options.reconcileMs ?? 30_000);
    };
    reconcileLoop();
    log.info('scheduler started', { worker: this.workerId, queue: this.queue.name, working: this.options.work !== false });
  }

  async stop(): Promise<void> {
    if (this.reconcileTimer) clearTimeout(this.reconcileTimer);
    this.reconcileTimer = undefined;
    await this.scheduler.stop();
    await this.queue.stop();
    await this.fleet?.leave().catch(() => undefined);
    this.options.log.info('scheduler stopped', { worker: this.workerId });
  }
}
