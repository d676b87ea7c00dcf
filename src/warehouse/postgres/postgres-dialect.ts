/**
 * PostgreSQL's SQL: overrides of the ANSI defaults in `BaseDialect` where PostgreSQL
 * differs. Invariant: every macro returns the same value as the DuckDB dialect for the same
 * inputs (the conformance suite evaluates both on the real engines).
 */
import { BaseDialect, defaultTypeNames } from '../base-dialect';
import type { ColumnType, DateUnit } from '../types';

const SECONDS_PER_UNIT: Partial<Record<DateUnit, number>> = {
  second: 1,
  minute: 60,
  hour: 3600,
  day: 86400,
  week: 604800,
};

export class PostgresDialect extends BaseDialect {
  readonly name = 'postgres' as const;

  constructor() {
    // MERGE exists from PostgreSQL 15 only; delete+insert (the base default) works on all.
    super({ transactionalDdl: true, merge: false });
  }

  /** JSONB: it has equality (DISTINCT, GROUP BY, diffs) and indexes; JSON has neither. */
  protected override readonly typeNames = { ...defaultTypeNames, json: 'JSONB' };

  /**
   * Whole units elapsed, truncated toward zero (PostgreSQL has no date_diff). Fixed-length
   * units come from the epoch seconds of the interval; months and years from `age`, which
   * counts calendar months like DuckDB's date_sub.
   */
  override dateDiff(unit: DateUnit, start: string, end: string): string {
    const s = `CAST(${start} AS TIMESTAMP)`;
    const e = `CAST(${end} AS TIMESTAMP)`;
    const seconds = SECONDS_PER_UNIT[unit];
    if (seconds !== undefined) {
      return `CAST(trunc(EXTRACT(EPOCH FROM (${e} - ${s})) / ${seconds}) AS BIGINT)`;
    }
    const age = `age(${e}, ${s})`;
    if (unit === 'year') return `CAST(EXTRACT(YEAR FROM ${age}) AS BIGINT)`;
    return `CAST(EXTRACT(YEAR FROM ${age}) * 12 + EXTRACT(MONTH FROM ${age}) AS BIGINT)`;
  }

  /** CAST(… AS TIMESTAMP) drops an offset such as '+02:00'; going through TIMESTAMPTZ honours it. */
  override toTimestamp(expression: string): string {
    return `CAST(CAST(${expression} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP)`;
  }
}
