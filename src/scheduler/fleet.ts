/**
 * Membership of the worker fleet: each process has a row in `cdp_workers` with a heartbeat.
 * A worker whose heartbeat is older than `deadAfterMs` is dead (killed, host lost): any live
 * worker then (1) asks the queue to release the jobs and lanes it held, so its job is
 * redelivered and its sync's lane unblocked, and (2) ages out the sync locks it held, so the
 * redelivered run takes the lock over at once — marking the dead run interrupted and resuming
 * from what the destination acknowledged — instead of waiting out the lock's own staleness
 * (which only knows dead pids on its own host). Then the dead row is removed.
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import type { ControlDb } from '../control';
import { messageOf } from '../errors';
import type { JobQueue } from './job-queue';
import type { Logger } from './logger';

export interface FleetOptions {
  heartbeatMs?: number;
  deadAfterMs?: number;
  log: Logger;
}

const workerRowSchema = z.object({ id: z.string(), host: z.string(), pid: z.coerce.number(), queue_worker_ids: z.string().nullable(), heartbeat_at: z.coerce.date() });

export class FleetMember {
  private timer?: NodeJS.Timeout;
  private beating?: Promise<void>;

  constructor(
    private readonly db: ControlDb,
    readonly id: string,
    private readonly queue: JobQueue,
    private readonly options: FleetOptions,
  ) {}

  async join(): Promise<void> {
    const now = new Date();
    await this.db.knex('cdp_workers').insert({ id: this.id, host: hostname(), pid: process.pid, queue_worker_ids: '[]', started_at: now, heartbeat_at: now });
    const beat = () => {
      this.beating = this.beat()
        .catch((error: unknown) => this.options.log.warn('heartbeat failed', { error: messageOf(error) }))
        .finally(() => {
          if (this.timer) this.timer = setTimeout(beat, this.options.heartbeatMs ?? 5000);
        });
    };
    this.timer = setTimeout(beat, this.options.heartbeatMs ?? 5000);
  }

  async beat(): Promise<void> {
    await this.db.knex('cdp_workers').where({ id: this.id }).update({ heartbeat_at: new Date(), queue_worker_ids: JSON.stringify(this.queue.workerIds()) });
    await this.sweep();
  }

  /** Takes over from dead workers. Safe to run from many workers at once: each step is idempotent. */
  async sweep(): Promise<string[]> {
    const cutoff = new Date(Date.now() - (this.options.deadAfterMs ?? 30_000));
    const dead = z.array(workerRowSchema).parse(await this.db.knex('cdp_workers').where('heartbeat_at', '<', cutoff).andWhereNot({ id: this.id }));
    for (const worker of dead) {
      const queueIds = z.array(z.string()).parse(JSON.parse(worker.queue_worker_ids ?? '[]'));
      await this.queue.unlockDeadWorkers(queueIds);
      // Wants: an exported `expireSyncLocksOf(host, pid)` from src/sync; until then this one statement.
      await this.db.knex('cdp_sync_locks').where({ host: worker.host, pid: worker.pid }).update({ heartbeat_at: new Date(0) });
      await this.db.knex('cdp_workers').where({ id: worker.id }).delete();
      this.options.log.warn('took over from a dead worker', { worker: worker.id, host: worker.host, pid: worker.pid, jobs_unlocked_for: queueIds.length });
    }
    return dead.map((w) => w.id);
  }

  async leave(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.beating;
    await this.db.knex('cdp_workers').where({ id: this.id }).delete();
  }
}
