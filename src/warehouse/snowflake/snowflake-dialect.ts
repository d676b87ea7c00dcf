/**
 * Snowflake's SQL. Snowflake stores an unquoted identifier in upper case, so `quoteIdent`
 * upper-cases a simple name before quoting it: `"CUSTOMERS"` then names the same table as
 * an unquoted `customers` written by hand in a model. Invariants:
 *  - a simple identifier (/^[a-z_][a-z0-9_$]*$/i) is folded to upper case, anything else
 *    is quoted exactly as given; introspection (`relationKindSql`, `columnsSql`) applies
 *    the same folding, and `columnsSql` returns names folded back so they round-trip
 *    through `quoteIdent`;
 *  - backslash is an escape character in Snowflake string constants, so `stringLiteral`
 *    escapes it as well as the quote;
 *  - timestamps are TIMESTAMP_NTZ holding the UTC wall clock (the adapter pins the session
 *    to UTC and TIMESTAMP_TYPE_MAPPING to TIMESTAMP_NTZ);
 *  - DDL auto-commits, so `transactionalDdl` is false; CREATE OR REPLACE and MERGE are native.
 */
import { BaseDialect } from '../base-dialect';
import type { ColumnType, DateUnit, MergeSpec, Scalar, TableRef, WarehouseType } from '../types';

const SIMPLE_IDENTIFIER = /^[a-z_][a-z0-9_$]*$/i;

const FIXED_UNIT_MS: Partial<Record<DateUnit, number>> = {
  second: 1_000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 604_800_000,
};

export class SnowflakeDialect extends BaseDialect {
  readonly name: WarehouseType = 'snowflake';

  constructor() {
    super({ transactionalDdl: false, createOrReplaceTable: true, merge: true });
  }

  /** The name Snowflake stores for `name` when written through `quoteIdent`. */
  storedName(name: string): string {
    return SIMPLE_IDENTIFIER.test(name) ? name.toUpperCase() : name;
  }

  override quoteIdent(name: string): string {
    return `"${this.storedName(name).replace(/"/g, '""')}"`;
  }

  override literal(value: Scalar): string {
    // The UTC wall clock without a zone: what a TIMESTAMP_NTZ column holds by convention.
    if (value instanceof Date) return `CAST(${this.stringLiteral(utcWallClock(value))} AS TIMESTAMP_NTZ)`;
    return super.literal(value);
  }

  protected override stringLiteral(text: string): string {
    return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
  }

  protected override readonly typeNames = {
    string: 'VARCHAR',
    integer: 'NUMBER(38,0)',
    float: 'FLOAT',
    boolean: 'BOOLEAN',
    timestamp: 'TIMESTAMP_NTZ',
    date: 'DATE',
    json: 'VARIANT',
  } as const;

  override cast(expression: string, type: ColumnType): string {
    // CAST(text AS VARIANT) makes a JSON *string*; PARSE_JSON reads the text as JSON.
    if (type === 'json') return `PARSE_JSON(${expression})`;
    return super.cast(expression, type);
  }

  override hash(expressions: string[]): string {
    const parts = expressions.map((e) => `COALESCE(${this.cast(e, 'string')}, '')`);
    // MD5 returns the lower-case hex string, as md5() does on DuckDB and PostgreSQL.
    return `MD5(${parts.join(` || '|' || `)})`;
  }

  /** TO_NUMBER with a hex format model reads the 8 hex digits unsigned. */
  override hashBucket(expressions: string[], buckets: number): string {
    return `MOD(TO_NUMBER(SUBSTR(${this.hash(expressions)}, 1, 8), 'XXXXXXXX'), ${Math.trunc(buckets)})`;
  }

  /** Snowflake's HASH is a signed 64-bit hash of all its arguments, NULL-aware. */
  override rowHash64(expressions: string[]): string {
    return `HASH(${expressions.join(', ')})`;
  }

  override dateAdd(unit: DateUnit, amount: number | string, expression: string): string {
    return `DATEADD(${unit}, (${amount}), ${expression})`;
  }

  /**
   * Whole units elapsed from start to end, truncated toward zero (the contract, as DuckDB's
   * date_sub). DATEDIFF alone counts unit boundaries crossed (DATEDIFF(day, 23:00, 01:00) is
   * 1), so fixed units divide elapsed milliseconds, and months and years step back by one
   * when shifting start by DATEDIFF's count overshoots end. Dates and timestamps both work.
   */
  override dateDiff(unit: DateUnit, start: string, end: string): string {
    const s = `CAST(${start} AS TIMESTAMP_NTZ)`;
    const e = `CAST(${end} AS TIMESTAMP_NTZ)`;
    const ms = FIXED_UNIT_MS[unit];
    if (ms !== undefined) return `CAST(TRUNC(DATEDIFF(millisecond, ${s}, ${e}) / ${ms}) AS NUMBER(38,0))`;
    const crossed = `DATEDIFF(${unit}, ${s}, ${e})`;
    const shifted = `DATEADD(${unit}, ${crossed}, ${s})`;
    return (
      `(CASE WHEN ${crossed} > 0 AND ${shifted} > ${e} THEN ${crossed} - 1 ` +
      `WHEN ${crossed} < 0 AND ${shifted} < ${e} THEN ${crossed} + 1 ELSE ${crossed} END)`
    );
  }

  /** REGEXP_REPLACE replaces every occurrence by default. */
  override regexReplace(expression: string, pattern: string, replacement: string): string {
    return `REGEXP_REPLACE(${expression}, ${this.literal(pattern)}, ${this.literal(replacement)})`;
  }

  /** REGEXP_LIKE matches the whole string; REGEXP_INSTR finds a match anywhere, as the contract says. */
  override regexMatches(expression: string, pattern: string): string {
    return `(REGEXP_INSTR(${expression}, ${this.literal(pattern)}) > 0)`;
  }

  override containsText(expression: string, text: string): string {
    return `CONTAINS(${expression}, ${this.literal(text)})`;
  }

  override startsWithText(expression: string, prefix: string): string {
    return `STARTSWITH(${expression}, ${this.literal(prefix)})`;
  }

  override distinctStringAgg(expression: string, separator: string): string {
    const text = this.cast(expression, 'string');
    return `LISTAGG(DISTINCT ${text}, ${this.literal(separator)}) WITHIN GROUP (ORDER BY ${text})`;
  }

  /** SYSDATE() is the current UTC time as TIMESTAMP_NTZ, whatever the session time zone. */
  override now(): string {
    return 'SYSDATE()';
  }

  /** Text with an offset is converted to UTC; text without one (and NTZ values) is UTC already. */
  override toTimestamp(expression: string): string {
    return `CAST(CONVERT_TIMEZONE('UTC', CAST(${expression} AS TIMESTAMP_TZ)) AS TIMESTAMP_NTZ)`;
  }

  override merge(spec: MergeSpec): string[] {
    const keys = new Set(spec.uniqueKey);
    const on = spec.uniqueKey.map((k) => `t.${this.quoteIdent(k)} = s.${this.quoteIdent(k)}`).join(' AND ');
    const updates = spec.columns.filter((c) => !keys.has(c)).map((c) => `t.${this.quoteIdent(c)} = s.${this.quoteIdent(c)}`);
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
    return (
      `SELECT CASE WHEN table_type = 'VIEW' THEN 'view' ELSE 'table' END AS kind ` +
      `FROM information_schema.tables WHERE ${this.infoSchemaPredicate(ref)}`
    );
  }

  override columnsSql(ref: TableRef): string {
    // Names that quoteIdent would have upper-cased come back lower-case, so a name read here
    // and written again through quoteIdent names the same column.
    return (
      `SELECT CASE WHEN REGEXP_LIKE(column_name, '[A-Z_][A-Z0-9_$]*') THEN LOWER(column_name) ELSE column_name END AS column_name, ` +
      `data_type FROM information_schema.columns WHERE ${this.infoSchemaPredicate(ref)} ORDER BY ordinal_position`
    );
  }

  private infoSchemaPredicate(ref: TableRef): string {
    const schema = ref.schema === undefined ? 'CURRENT_SCHEMA()' : this.literal(this.storedName(ref.schema));
    return `table_schema = ${schema} AND table_name = ${this.literal(this.storedName(ref.name))}`;
  }
}

/** 'YYYY-MM-DD HH:MM:SS.mmm' in UTC. */
export function utcWallClock(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}
