/**
 * Small helpers for building per-row outcomes (DESIGN §8.8: per-row results, not
 * exceptions). Invariant: a connector returns exactly one outcome per input row, in order;
 * `checkOutcomes` is what the engine uses to hold connectors to it.
 */
import { ConnectorError } from './connector-error';
import type { RowOutcome } from './types';

export const ok = (externalId?: string): RowOutcome => (externalId === undefined ? { status: 'ok' } : { status: 'ok', externalId });
export const rejected = (reason: string): RowOutcome => ({ status: 'rejected', reason });
export const retry = (reason: string, retryAfterMs?: number): RowOutcome =>
  retryAfterMs === undefined ? { status: 'retry', reason } : { status: 'retry', reason, retryAfterMs };

/** Every row ok. */
export function allOk(count: number): RowOutcome[] {
  return Array.from({ length: count }, () => ({ status: 'ok' }) as const);
}

/** Throws an internal-contract ConnectorError when a connector returned the wrong number of outcomes. */
export function checkOutcomes(destination: string, rows: number, outcomes: RowOutcome[]): RowOutcome[] {
  if (!Array.isArray(outcomes) || outcomes.length !== rows) {
    throw new ConnectorError(destination, 'transient', `connector returned ${Array.isArray(outcomes) ? outcomes.length : 'no'} outcomes for ${rows} rows`, {
      hint: 'a connector bug: it must return one outcome per row, in order',
    });
  }
  return outcomes;
}
