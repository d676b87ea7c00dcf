/**
 * Default SQL for every dialect method ("dispatch with a default", DESIGN §8.3). The
 * defaults are ANSI SQL as PostgreSQL and DuckDB speak it; an adapter's dialect overrides
 * only what its warehouse does differently. All quoting goes through `quoteIdent` and
 * `literal`, so no other module builds identifiers or literals by hand.
 */
import type { Column, ColumnType, DateUnit, Dialect, DialectCapabilities, MergeSpec, Scalar, TableRef, WarehouseType } from './types';

export const defaultCapabilities: DialectCapabilities = {
  transactionalDdl: false,
  createOrReplaceTable: false,
  merge: false,
};

export const defaultTypeNames: Readonly<Record<ColumnType, string>> = {
  string: 'TEXT',
  integer: 'BIGINT',
  float: 'DOUBLE PRECISION',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMP',
  date: 'DATE',
  json: 'JSON',
};

export abstract class BaseDialect implements Dialect {
  abstract readonly name: WarehouseType;
  readonly capabilities: DialectCapabilities;

  constructor(capabilities: Partial<DialectCapabilities> = {}) {
    this.capabilities = { ...defaultCapabilities, ...capabilities };
  }

  quoteIdent(name: string): string {
    return `"${name.replace(/"/g, '""')}"`;
  }

  qualify(ref: TableRef): string {
    return ref.schema ? `${this.quoteIdent(ref.schema)}.${this.quoteIdent(ref.name)}` : this.quoteIdent(ref.name);
  }

  literal(value: Scalar): string {
    if (value === null) return 'NULL';
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new Error(`cannot write ${value} as a SQL literal`);
      return String(value);
    }
    if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
    if (value instanceof Date) return `CAST(${this.stringLiteral(value.toISOString())} AS ${this.typeName('timestamp')})`;
    return this.stringLiteral(value);
  }

  protected stringLiteral(text: string): string {
    return `'${text.replace(/'/g, "''")}'`;
  }

  /** Physical type of each logical type: data, so a dialect overrides only the names it spells differently. */
  protected readonly typeNames: Readonly<Record<ColumnType, string>> = defaultTypeNames;

  typeName(type: ColumnType): string {
    return this.typeNames[type];
  }

  hash(expressions: string[]): string {
    const parts = expressions.map((e) => `COALESCE(${this.cast(e, 'string')}, '')`);
    return `md5(${parts.join(` || '|' || `)})`;
  }

  /** PostgreSQL's default: the row's text form (NULL empty, '' quoted) through hashtextextended. */
  rowHash64(expressions: string[]): string {
    return `hashtextextended(CAST(ROW(${expressions.join(', ')}, NULL) AS TEXT), 0)`;
  }

  /** PostgreSQL's spelling: 'x' || hex → BIT(32) → BIGINT reads the 8 hex digits unsigned. */
  hashBucket(expressions: string[], buckets: number): string {
    return `MOD(CAST(CAST('x' || substr(${this.hash(expressions)}, 1, 8) AS BIT(32)) AS BIGINT), ${Math.trunc(buckets)})`;
  }

  dateAdd(unit: DateUnit, amount: number | string, expression: string): string {
    return `(${expression} + (${amount}) * INTERVAL '1 ${unit}')`;
  }

  dateDiff(unit: DateUnit, start: string, end: string): string {
    return `date_diff('${unit}', ${start}, ${end})`;
  }

  now(): string {
    return 'CURRENT_TIMESTAMP';
  }

  daysAgo(days: number): string {
    return this.dateAdd('day', -days, this.now());
  }

  normalizeString(expression: string): string {
    return `NULLIF(lower(trim(${expression})), '')`;
  }

  cast(expression: string, type: ColumnType): string {
    return `CAST(${expression} AS ${this.typeName(type)})`;
  }

  toTimestamp(expression: string): string {
    return this.cast(expression, 'timestamp');
  }

  regexReplace(expression: string, pattern: string, replacement: string): string {
    return `regexp_replace(${expression}, ${this.literal(pattern)}, ${this.literal(replacement)}, 'g')`;
  }

  regexMatches(expression: string, pattern: string): string {
    return `(${expression} ~ ${this.literal(pattern)})`;
  }

  /** strpos, not LIKE: a user's % or _ stays literal, and LIKE's escape rules differ by warehouse. */
  containsText(expression: string, text: string): string {
    return `(strpos(${expression}, ${this.literal(text)}) > 0)`;
  }

  startsWithText(expression: string, prefix: string): string {
    return `starts_with(${expression}, ${this.literal(prefix)})`;
  }

  distinctStringAgg(expression: string, separator: string): string {
    const text = this.cast(expression, 'string');
    return `string_agg(DISTINCT ${text}, ${this.literal(separator)} ORDER BY ${text})`;
  }

  createSchemaIfNotExists(schema: string): string {
    return `CREATE SCHEMA IF NOT EXISTS ${this.quoteIdent(schema)}`;
  }

  createTableAs(ref: TableRef, selectSql: string): string {
    return `CREATE TABLE ${this.qualify(ref)} AS\n${selectSql}`;
  }

  createOrReplaceTableAs(ref: TableRef, selectSql: string): string {
    return `CREATE OR REPLACE TABLE ${this.qualify(ref)} AS\n${selectSql}`;
  }

  createView(ref: TableRef, selectSql: string): string {
    return `CREATE VIEW ${this.qualify(ref)} AS\n${selectSql}`;
  }

  createOrReplaceView(ref: TableRef, selectSql: string): string {
    return `CREATE OR REPLACE VIEW ${this.qualify(ref)} AS\n${selectSql}`;
  }

  createTable(ref: TableRef, columns: Column[]): string {
    const cols = columns.map((c) => `${this.quoteIdent(c.name)} ${this.typeName(c.type)}`).join(', ');
    return `CREATE TABLE ${this.qualify(ref)} (${cols})`;
  }

  dropTableIfExists(ref: TableRef): string {
    return `DROP TABLE IF EXISTS ${this.qualify(ref)}`;
  }

  dropViewIfExists(ref: TableRef): string {
    return `DROP VIEW IF EXISTS ${this.qualify(ref)}`;
  }

  renameTable(from: TableRef, toName: string): string {
    return `ALTER TABLE ${this.qualify(from)} RENAME TO ${this.quoteIdent(toName)}`;
  }

  /** Default: delete the keys present in the source, then insert the source (dbt's delete+insert). */
  merge(spec: MergeSpec): string[] {
    const target = this.qualify(spec.target);
    const source = this.qualify(spec.source);
    const keys = spec.uniqueKey.map((k) => this.quoteIdent(k));
    const cols = spec.columns.map((c) => this.quoteIdent(c)).join(', ');
    const keyMatch = keys.map((k) => `t.${k} = s.${k}`).join(' AND ');
    return [
      `DELETE FROM ${target} AS t WHERE EXISTS (SELECT 1 FROM ${source} AS s WHERE ${keyMatch})`,
      `INSERT INTO ${target} (${cols}) SELECT ${cols} FROM ${source}`,
    ];
  }

  relationKindSql(ref: TableRef): string {
    return (
      `SELECT CASE WHEN table_type = 'VIEW' THEN 'view' ELSE 'table' END AS kind ` +
      `FROM information_schema.tables WHERE ${this.infoSchemaFilter(ref)}`
    );
  }

  /**
   * The information_schema predicate selecting `ref`. A ref without a schema means the
   * session's current schema (not the empty string, which matches nothing).
   */
  protected infoSchemaFilter(ref: TableRef): string {
    const schema = ref.schema === undefined ? 'current_schema()' : this.literal(ref.schema);
    return `table_schema = ${schema} AND table_name = ${this.literal(ref.name)}`;
  }

  columnsSql(ref: TableRef): string {
    return (
      `SELECT column_name, data_type FROM information_schema.columns ` +
      `WHERE ${this.infoSchemaFilter(ref)} ORDER BY ordinal_position`
    );
  }
}
