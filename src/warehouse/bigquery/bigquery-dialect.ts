/**
 * BigQuery's SQL (GoogleSQL). Identifiers are quoted with backticks; a table is
 * `dataset`.`table` and the project comes from the job (the adapter runs every job in the
 * configured project with the configured dataset as default dataset, so an unqualified
 * name resolves there). Invariants:
 *  - every identifier and literal goes through `quoteIdent` / `literal`; GoogleSQL strings
 *    use backslash escapes (a doubled quote is NOT an escape), so `stringLiteral` differs
 *    from the ANSI default;
 *  - `hash` yields the lower-case hex MD5 of the same text the ANSI default hashes, so a
 *    row hash of the same text values is equal across warehouses;
 *  - date arithmetic works on TIMESTAMP (the type of `timestamp` columns and of `now()`).
 */
import { BaseDialect } from '../base-dialect';
import type { ColumnType, DateUnit, MergeSpec, Scalar, TableRef, WarehouseType } from '../types';

/** TIMESTAMP_ADD / TIMESTAMP_DIFF accept units up to DAY only; longer ones go through DATETIME. */
const TIMESTAMP_UNITS: Partial<Record<DateUnit, string>> = {
  second: 'SECOND',
  minute: 'MINUTE',
  hour: 'HOUR',
  day: 'DAY',
};

const DATETIME_UNITS: Record<DateUnit, string> = {
  second: 'SECOND',
  minute: 'MINUTE',
  hour: 'HOUR',
  day: 'DAY',
  week: 'WEEK',
  month: 'MONTH',
  year: 'YEAR',
};

export interface BigqueryDialectOptions {
  /** The dataset an unqualified ref lives in (the adapter's configured dataset). */
  defaultDataset?: string;
  /**
   * The location jobs run in. When known, introspection reads the region-level
   * INFORMATION_SCHEMA, which answers "no rows" for a dataset that does not exist yet
   * (the dataset-level view fails with notFound instead — e.g. on a first `cdp run`).
   */
  location?: string;
}

export class BigqueryDialect extends BaseDialect {
  readonly name: WarehouseType = 'bigquery';
  private readonly defaultDataset?: string;
  private readonly location?: string;

  constructor(options: BigqueryDialectOptions = {}) {
    // BigQuery DDL cannot run inside a multi-statement transaction; CREATE OR REPLACE TABLE
    // swaps atomically, and MERGE is native.
    super({ transactionalDdl: false, createOrReplaceTable: true, merge: true });
    this.defaultDataset = options.defaultDataset;
    this.location = options.location;
  }

  override quoteIdent(name: string): string {
    return '`' + name.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
  }

  override literal(value: Scalar): string {
    // An explicit UTC offset: the textual form BigQuery parses in every context.
    if (value instanceof Date) return `TIMESTAMP ${this.stringLiteral(value.toISOString().replace('T', ' ').replace('Z', '+00:00'))}`;
    return super.literal(value);
  }

  protected override stringLiteral(text: string): string {
    const escaped = text
      .replace(/\\/g, '\\\\')
      .replace(/'/g, "\\'")
      .replace(/\n/g, '\\n')
      .replace(/\r/g, '\\r');
    return `'${escaped}'`;
  }

  protected override readonly typeNames = {
    string: 'STRING',
    integer: 'INT64',
    float: 'FLOAT64',
    boolean: 'BOOL',
    timestamp: 'TIMESTAMP',
    date: 'DATE',
    json: 'JSON',
  } as const;

  override cast(expression: string, type: ColumnType): string {
    // GoogleSQL has no STRING → JSON cast; PARSE_JSON is the documented conversion.
    if (type === 'json') return `PARSE_JSON(${expression})`;
    return super.cast(expression, type);
  }

  override hash(expressions: string[]): string {
    const parts = expressions.map((e) => `COALESCE(${this.cast(e, 'string')}, '')`);
    const text = parts.length === 1 ? parts[0] : `CONCAT(${parts.join(`, '|', `)})`;
    // MD5 returns BYTES in BigQuery; TO_HEX gives the lower-case hex other warehouses return.
    return `TO_HEX(MD5(${text}))`;
  }

  /** GoogleSQL casts '0x…' text to INT64. */
  override hashBucket(expressions: string[], buckets: number): string {
    return `MOD(CAST(CONCAT('0x', SUBSTR(${this.hash(expressions)}, 1, 8)) AS INT64), ${Math.trunc(buckets)})`;
  }

  /** FARM_FINGERPRINT of the JSON of an array of the values: NULL stays null, '' stays "". */
  override rowHash64(expressions: string[]): string {
    return `FARM_FINGERPRINT(TO_JSON_STRING([${expressions.map((e) => `TO_JSON_STRING(${e})`).join(', ')}]))`;
  }

  override dateAdd(unit: DateUnit, amount: number | string, expression: string): string {
    const tsUnit = TIMESTAMP_UNITS[unit];
    if (tsUnit) return `TIMESTAMP_ADD(${expression}, INTERVAL (${amount}) ${tsUnit})`;
    if (unit === 'week') return `TIMESTAMP_ADD(${expression}, INTERVAL ((${amount}) * 7) DAY)`;
    // Calendar units: shift the UTC wall clock (DATETIME), then read it back as UTC.
    return `TIMESTAMP(DATETIME_ADD(DATETIME(${expression}), INTERVAL (${amount}) ${DATETIME_UNITS[unit]}))`;
  }

  /**
   * Whole units elapsed from start to end, truncated toward zero (the contract, as DuckDB's
   * date_sub): TIMESTAMP_DIFF already counts elapsed units up to DAY; weeks are whole days
   * / 7; months and years start from DATETIME_DIFF's boundary count and step back by one
   * when shifting start by that many units overshoots end. Dates and timestamps both work.
   */
  override dateDiff(unit: DateUnit, start: string, end: string): string {
    const s = `CAST(${start} AS TIMESTAMP)`;
    const e = `CAST(${end} AS TIMESTAMP)`;
    if (unit === 'week') return `CAST(TRUNC(TIMESTAMP_DIFF(${e}, ${s}, DAY) / 7) AS INT64)`;
    const tsUnit = TIMESTAMP_UNITS[unit];
    if (tsUnit) return `TIMESTAMP_DIFF(${e}, ${s}, ${tsUnit})`;
    const u = DATETIME_UNITS[unit];
    const startDt = `DATETIME(${s})`;
    const endDt = `DATETIME(${e})`;
    const crossed = `DATETIME_DIFF(${endDt}, ${startDt}, ${u})`;
    const shifted = `DATETIME_ADD(${startDt}, INTERVAL ${crossed} ${u})`;
    return (
      `(CASE WHEN ${crossed} > 0 AND ${shifted} > ${endDt} THEN ${crossed} - 1 ` +
      `WHEN ${crossed} < 0 AND ${shifted} < ${endDt} THEN ${crossed} + 1 ELSE ${crossed} END)`
    );
  }

  /** REGEXP_REPLACE replaces every match already (no flags argument). */
  override regexReplace(expression: string, pattern: string, replacement: string): string {
    return `REGEXP_REPLACE(${expression}, ${this.literal(pattern)}, ${this.literal(replacement)})`;
  }

  override regexMatches(expression: string, pattern: string): string {
    return `REGEXP_CONTAINS(${expression}, ${this.literal(pattern)})`;
  }

  override distinctStringAgg(expression: string, separator: string): string {
    const text = this.cast(expression, 'string');
    return `STRING_AGG(DISTINCT ${text}, ${this.literal(separator)} ORDER BY ${text})`;
  }

  override now(): string {
    return 'CURRENT_TIMESTAMP()';
  }

  override createSchemaIfNotExists(schema: string): string {
    return `CREATE SCHEMA IF NOT EXISTS ${this.quoteIdent(schema)}`;
  }

  /** A native MERGE: one statement, atomic, no window where keys are missing. */
  override merge(spec: MergeSpec): string[] {
    const keys = new Set(spec.uniqueKey);
    const on = spec.uniqueKey.map((k) => `t.${this.quoteIdent(k)} = s.${this.quoteIdent(k)}`).join(' AND ');
    const updates = spec.columns.filter((c) => !keys.has(c)).map((c) => `${this.quoteIdent(c)} = s.${this.quoteIdent(c)}`);
    const cols = spec.columns.map((c) => this.quoteIdent(c));
    const lines = [
      `MERGE INTO ${this.qualify(spec.target)} AS t`,
      `USING ${this.qualify(spec.source)} AS s`,
      `ON ${on}`,
    ];
    // A table of keys only has nothing to update; an empty SET list is a syntax error.
    if (updates.length > 0) lines.push(`WHEN MATCHED THEN UPDATE SET ${updates.join(', ')}`);
    lines.push(`WHEN NOT MATCHED THEN INSERT (${cols.join(', ')}) VALUES (${cols.map((c) => `s.${c}`).join(', ')})`);
    return [lines.join('\n')];
  }

  override relationKindSql(ref: TableRef): string {
    const { view, filter } = this.informationSchema(ref, 'TABLES');
    return `SELECT CASE WHEN table_type = 'VIEW' THEN 'view' ELSE 'table' END AS kind FROM ${view} WHERE ${filter}`;
  }

  override columnsSql(ref: TableRef): string {
    const { view, filter } = this.informationSchema(ref, 'COLUMNS');
    return `SELECT column_name, data_type FROM ${view} WHERE ${filter} ORDER BY ordinal_position`;
  }

  /**
   * Region-level view filtered by dataset when the location is known; else the dataset's own
   * view; unqualified only when no dataset is known at all (resolved by the job's default dataset).
   */
  private informationSchema(ref: TableRef, table: 'TABLES' | 'COLUMNS'): { view: string; filter: string } {
    const dataset = ref.schema ?? this.defaultDataset;
    const byName = `table_name = ${this.literal(ref.name)}`;
    if (dataset !== undefined && this.location !== undefined) {
      return {
        view: `${this.quoteIdent(`region-${this.location.toLowerCase()}`)}.INFORMATION_SCHEMA.${table}`,
        filter: `table_schema = ${this.literal(dataset)} AND ${byName}`,
      };
    }
    const prefix = dataset === undefined ? '' : `${this.quoteIdent(dataset)}.`;
    return { view: `${prefix}INFORMATION_SCHEMA.${table}`, filter: byName };
  }
}
