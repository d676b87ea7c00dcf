/**
 * The queue contract shared by the in-process queue (SQLite control DB, one `cdp serve`) and
 * the PostgreSQL one (graphile-worker, many `cdp worker`s). A queue delivers job ids; the
 * job row in `cdp_jobs` holds what to do. Both run jobs of one lane (a sync; models;
 * segments) one at a time, and up to `concurrency` lanes at once.
 */
export type JobHandler = (jobId: string, signal: AbortSignal) => Promise<void>;

export interface JobQueue {
  readonly name: 'in-process' | 'graphile-worker';
  /** Hands a recorded job to the queue, in its lane. */
  push(jobId: string, lane: string): Promise<void>;
  /** Starts taking jobs. */
  start(handler: JobHandler): Promise<void>;
  /**
   * Stops taking jobs, signals running ones to wind down (in-flight batches finish and
   * commit) and waits for them.
   */
  stop(): Promise<void>;
  /** The queue's own ids of this process's workers (for a dead-worker unlock by others). */
  workerIds(): string[];
  /** Releases jobs held by workers that died (other processes). */
  unlockDeadWorkers(queueWorkerIds: string[]): Promise<void>;
}
