/**
 * The queue of a single `cdp serve` on the embedded SQLite control DB: lanes in memory, each
 * a FIFO run one job at a time, at most `concurrency` lanes at once. Nothing else can run
 * jobs against this control DB, so no cross-process locking is needed here (the sync lock
 * still guards against a `cdp sync run` from a terminal).
 */
import type { JobHandler, JobQueue } from './job-queue';

export function createInProcessQueue(options: { concurrency: number }): JobQueue {
  const lanes = new Map<string, string[]>();
  const busy = new Set<string>();
  const running = new Set<Promise<void>>();
  const controller = new AbortController();
  let handler: JobHandler | undefined;
  let stopping = false;

  const pump = () => {
    if (!handler || stopping) return;
    for (const [lane, jobs] of lanes) {
      if (busy.size >= options.concurrency) return;
      if (busy.has(lane) || jobs.length === 0) continue;
      const jobId = jobs.shift()!;
      if (jobs.length === 0) lanes.delete(lane);
      busy.add(lane);
      const work = handler(jobId, controller.signal)
        .catch(() => undefined) // the handler records its own failures
        .finally(() => {
          busy.delete(lane);
          running.delete(work);
          pump();
        });
      running.add(work);
    }
  };

  return {
    name: 'in-process',
    async push(jobId, lane) {
      const jobs = lanes.get(lane) ?? [];
      jobs.push(jobId);
      lanes.set(lane, jobs);
      pump();
    },
    async start(h) {
      handler = h;
      pump();
    },
    async stop() {
      stopping = true;
      controller.abort(new Error('shutting down'));
      await Promise.allSettled([...running]);
    },
    workerIds: () => [],
    unlockDeadWorkers: async () => undefined,
  };
}
