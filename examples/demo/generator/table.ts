/**
 * Shared shapes for the demo generator: options, the generation context every table reads,
 * the per-stream salts, and the streaming helper that turns "rows for person i" into batches
 * with bounded memory.
 */
import type { Column, Row } from '../../../src/warehouse';

export interface DemoOptions {
  /** Number of people (customers and prospects) to simulate. */
  people: number;
  /** Same seed ⇒ byte-identical data. */
  seed: number;
  /** Every timestamp is strictly before this instant. Default 2026-11-01T00:00:00Z. */
  asOf?: Date;
  /** Rows per yielded batch (approximate: a person's rows are never split). Default 10,000. */
  batchRows?: number;
}

export interface DemoTable {
  name: string;
  columns: Column[];
  /** A fresh stream on every call; each call regenerates the same rows. */
  rows: () => AsyncIterable<Row[]>;
}

export const DEFAULT_AS_OF = new Date('2026-11-01T00:00:00Z');
export const DAY_MS = 86_400_000;

export interface GenContext {
  readonly people: number;
  readonly seed: number;
  readonly asOfMs: number;
  readonly batchRows: number;
  /** Number of B2B companies; members pick among them. */
  readonly companies: number;
}

export function makeContext(options: DemoOptions): GenContext {
  if (!Number.isInteger(options.people) || options.people < 1) {
    throw new Error(`demo generator: people must be a positive integer, got ${options.people}`);
  }
  // Ids embed the person index in 32 bits and event counters in 16; keep well inside both.
  if (options.people > 50_000_000) throw new Error('demo generator: at most 50,000,000 people');
  const asOfMs = (options.asOf ?? DEFAULT_AS_OF).getTime();
  if (!Number.isFinite(asOfMs)) throw new Error('demo generator: asOf is not a valid date');
  return {
    people: options.people,
    seed: options.seed >>> 0,
    asOfMs,
    batchRows: options.batchRows ?? 10_000,
    companies: companyCount(options.people),
  };
}

/** About one company per 40 people, at least 20, so a small demo still has a B2B arm. */
export function companyCount(people: number): number {
  return Math.max(20, Math.ceil(people / 40));
}

/**
 * One salt per random stream. A table draws from its own stream, so adding a column to one
 * table never changes another table's data.
 */
export const Salt = {
  person: 1,
  career: 2,
  web: 3,
  app: 4,
  appUser: 5,
  crm: 6,
  orders: 7,
  tickets: 8,
  consents: 9,
  company: 10,
  // Id salts: keys for ids that must be unique per table.
  webEventId: 101,
  anonymousId: 102,
  appEventId: 103,
  deviceId: 104,
  userId: 105,
  contactId: 106,
  orderId: 107,
  ticketId: 108,
  membershipId: 109,
} as const;

/** Streams entities 0..count-1 through `emit`, yielding a batch whenever it is full. */
export async function* streamEntities(
  count: number,
  batchRows: number,
  emit: (index: number, out: Row[]) => void,
): AsyncGenerator<Row[]> {
  let batch: Row[] = [];
  for (let i = 0; i < count; i++) {
    emit(i, batch);
    if (batch.length >= batchRows) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** Whole seconds, so every warehouse stores the same instant (no sub-second precision games). */
export function toSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}
