/**
 * The fleet queue on a PostgreSQL control DB, through graphile-worker.
 *
 * Why graphile-worker (0.16, runs on Node 20) rather than pg-boss: its named queues
 * (`queueName`) run the jobs of one queue strictly one at a time across every process —
 * exactly "one run per sync at a time" — while other lanes run in parallel; jobs are
 * announced with LISTEN/NOTIFY, so a fire starts within milliseconds; and
 * `forceUnlockWorkers` releases a dead worker's job and lane at once when we know the worker
 * is gone (our heartbeat table tells us), instead of waiting out a fixed lock timeout. The
 * pg-boss line that still supports Node 20 (10.x) takes over only by expiring jobs on a
 * timer, which either waits long after a crash or starts a second run next to a slow live one.
 *
 * Jobs never fail into graphile's retry: the handler records failures itself (the next fire
 * is the retry); only a crash leaves a job locked, and the takeover redelivers it.
 */
import { EventEmitter } from 'node:events';
import { makeWorkerUtils, run, type Logger as GraphileLogger, type Runner, type WorkerEvents, type WorkerUtils } from 'graphile-worker';
import { Logger as WorkerLogger } from 'graphile-worker';
import type { JobHandler, JobQueue } from './job-queue';

const TASK = 'cdp_job';

export interface GraphileQueueOptions {
  connectionString: string;
  /** PostgreSQL schema of graphile-worker's tables. */
  schema: string;
  concurrency: number;
  pollIntervalMs?: number;
}

export async function createGraphileQueue(options: GraphileQueueOptions): Promise<JobQueue> {
  const logger: GraphileLogger = new WorkerLogger(() => () => undefined); // our own log lines say what matters
  const utils: WorkerUtils = await makeWorkerUtils({ connectionString: options.connectionString, schema: options.schema, logger });
  await utils.migrate();
  let runner: Runner | undefined;
  const ids = new Set<string>();
  const controller = new AbortController();
  return {
    name: 'graphile-worker',
    async push(jobId, lane) {
      await utils.addJob(TASK, { jobId }, { queueName: lane, maxAttempts: 25, jobKey: `job:${jobId}` });
    },
    async start(handler: JobHandler) {
      const events: WorkerEvents = new EventEmitter() as WorkerEvents;
      events.on('worker:create', ({ worker }) => ids.add(worker.workerId));
      runner = await run({
        connectionString: options.connectionString,
        schema: options.schema,
        concurrency: options.concurrency,
        pollInterval: options.pollIntervalMs ?? 1000,
        noHandleSignals: true, // the CLI owns signals (graceful shutdown of everything, in order)
        logger,
        events,
        taskList: {
          [TASK]: async (payload) => {
            const jobId = (payload as { jobId?: unknown }).jobId;
            if (typeof jobId === 'string') await handler(jobId, controller.signal);
          },
        },
      });
    },
    async stop() {
      controller.abort(new Error('shutting down'));
      await runner?.stop();
      await utils.release();
    },
    workerIds: () => [...ids],
    async unlockDeadWorkers(queueWorkerIds) {
      if (queueWorkerIds.length) await utils.forceUnlockWorkers(queueWorkerIds);
    },
  };
}
