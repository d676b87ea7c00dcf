/** What every route handler gets: the runtime, the scheduler service and the audit helper. */
import type { CdpRuntime, Logger, SchedulerService } from '../scheduler';
import type { Actor } from './auth';
import { recordAudit } from './audit';

export interface ServerContext {
  runtime: CdpRuntime;
  service: SchedulerService;
  log: Logger;
  audit(actor: Actor | undefined, action: string, targetType: string, target: string, before?: unknown, after?: unknown): Promise<void>;
}

export function createServerContext(runtime: CdpRuntime, service: SchedulerService, log: Logger): ServerContext {
  return {
    runtime,
    service,
    log,
    audit: (actor, action, targetType, target, before, after) =>
      recordAudit(runtime.control, { project: runtime.name, actor: actor ? `${actor.name} (${actor.tokenId.slice(0, 8)})` : 'anonymous', action, targetType, target, before, after }),
  };
}

/** Warehouse rows as JSON: bigints become numbers (or strings past 2^53), dates ISO text. */
export function jsonValue(value: unknown): unknown {
  if (typeof value === 'bigint') return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(jsonValue);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, jsonValue(v)]));
  return value;
}
