/**
 * The warehouse contract (DESIGN §4). Every adapter — DuckDB, PostgreSQL, BigQuery,
 * Snowflake — implements `Warehouse`; every SQL difference lives in its `Dialect`.
 *
 * Value contract for rows coming back from `query` / `stream` (the same on every adapter,
 * so results can be compared across warehouses):
 *  - integers → number (a value beyond ±2^53 → string, never a lossy number);
 *  - decimals and floats → number;
 *  - booleans → boolean;
 *  - timestamps (with or without zone) → Date, read as UTC;
 *  - dates → 'YYYY-MM-DD' string;
 *  - text and json → string;
 *  - NULL → null.
 * Column names come back lower-case (Snowflake's upper-case names are folded).
 */
export type Scalar = string | number | boolean | Date | null;
export type Row = Record<string, Scalar>;

/** Logical column types; each dialect names its physical type. */
export type ColumnType = 'string' | 'integer' | 'float' | 'boolean' | 'timestamp' | 'date' | 'json';

export interface Column {
  name: string;
  type: ColumnType;
}

/** A table or view. `schema` is the dataset on BigQuery; absent means the warehouse's default schema. */
export interface TableRef {
  schema?: string;
  name: string;
}

export type WarehouseType = 'duckdb' | 'postgres' | 'bigquery' | 'snowflake';

export interface Warehouse {
  readonly dialect: Dialect;
  /** The schema (dataset) models build into when they name none. */
  readonly defaultSchema: string;
  execute(sql: string): Promise<void>;
  /** Runs the statements as one unit where the warehouse can; in order otherwise. */
  executeAll(statements: string[]): Promise<void>;
  /** Small results only: everything is held in memory. */
  query<T extends Row = Row>(sql: string): Promise<T[]>;
  /**
   * Large results with bounded memory: yields batches of at most `batchRows` rows. Rows come
   * in the query's ORDER BY order; without one, in any order (DuckDB may write them out of
   * insertion order, which is what keeps its memory flat).
   */
  stream(sql: string, batchRows: number): AsyncIterable<Row[]>;
  /** Bulk-inserts into an existing table with these columns; returns the rows written. */
  load(table: TableRef, columns: Column[], rows: AsyncIterable<Row[]>): Promise<number>;
  /** Cheap round trip proving the connection and credentials work. */
  check(): Promise<void>;
  close(): Promise<void>;
  /**
   * Optional fast path for in-process algorithms (identity's union-find): integer columns
   * moved as typed arrays with no per-row objects. Only engines running inside this process
   * offer it (DuckDB); callers fall back to `stream` / `load` or to SQL when it is absent.
   */
  readonly columnar?: ColumnarAccess;
}

/** Integer columns in and out as typed arrays (see `Warehouse.columnar`). */
export interface ColumnarAccess {
  /**
   * Runs `sql`, whose columns must all be 32-bit INTEGER without NULLs, and hands each chunk's
   * columns to `onChunk` (the arrays are valid only during the call). Returns the rows read.
   */
  scanInt32(sql: string, onChunk: (columns: Int32Array[], rowCount: number) => void): Promise<number>;
  /**
   * Appends `rowCount` rows, given column by column in the table's column order, to an
   * existing table whose columns are integers (INTEGER or BIGINT). All or nothing.
   */
  appendInt32(table: TableRef, columns: Int32Array[], rowCount: number): Promise<number>;
}

/**
 * Capabilities are typed flags with defaults in `BaseDialect`: adding a flag never breaks
 * an adapter that does not know about it.
 */
export interface DialectCapabilities {
  /** DDL runs inside a transaction, so build-and-swap can be atomic. */
  transactionalDdl: boolean;
  /** `CREATE OR REPLACE TABLE … AS` replaces atomically (BigQuery, Snowflake). */
  createOrReplaceTable: boolean;
  /** `MERGE INTO` is supported. */
  merge: boolean;
}

export interface MergeSpec {
  target: TableRef;
  source: TableRef;
  uniqueKey: string[];
  columns: string[];
}

export interface Dialect {
  readonly name: WarehouseType;
  readonly capabilities: DialectCapabilities;

  // -- quoting and names (all quoting goes through these) --
  quoteIdent(name: string): string;
  qualify(ref: TableRef): string;
  literal(value: Scalar): string;
  typeName(type: ColumnType): string;

  // -- expression macros, available in models as {{hash …}}, {{days_ago …}} … --
  /** Hex MD5 of the columns' text values joined by '|' with NULL as ''; stable across dialects. */
  hash(expressions: string[]): string;
  /**
   * A fast 64-bit hash (a BIGINT expression) of the values together, for change detection
   * inside one warehouse (sync diffs): equal values give equal hashes, NULL differs from ''
   * and from any value, column boundaries count. Unlike `hash`, not comparable across
   * warehouses or engine versions — never store it outside the warehouse that made it.
   */
  rowHash64(expressions: string[]): string;
  /**
   * A deterministic bucket in [0, buckets): the first 32 bits of `hash(expressions)` (the
   * hex MD5) as an unsigned integer, modulo `buckets`. The same on every warehouse, so a
   * split or holdout puts a person in the same group wherever it is computed.
   */
  hashBucket(expressions: string[], buckets: number): string;
  /** `expression` shifted by `amount` units (amount may be negative). */
  dateAdd(unit: DateUnit, amount: number | string, expression: string): string;
  /** Whole `unit`s from `start` to `end` (end − start), as an integer. */
  dateDiff(unit: DateUnit, start: string, end: string): string;
  /** The current timestamp (UTC). */
  now(): string;
  /** Timestamp `days` days before now. */
  daysAgo(days: number): string;
  /** lower(trim(x)); NULL when the result is empty. */
  normalizeString(expression: string): string;
  cast(expression: string, type: ColumnType): string;
  /** Parses an ISO-8601 text or a timestamp expression to a UTC timestamp. */
  toTimestamp(expression: string): string;
  /** Every match of `pattern` (a regex in the common RE2/POSIX subset) replaced by `replacement`. */
  regexReplace(expression: string, pattern: string, replacement: string): string;
  /** TRUE when `pattern` matches somewhere in `expression` (anchor with ^…$ for a full match). */
  regexMatches(expression: string, pattern: string): string;
  /** TRUE when `text` (a literal) occurs in `expression`; case-sensitive, no wildcards. */
  containsText(expression: string, text: string): string;
  /** TRUE when `expression` starts with `prefix` (a literal); case-sensitive, no wildcards. */
  startsWithText(expression: string, prefix: string): string;
  /** Aggregate: the distinct non-null values as text, sorted, joined by `separator`. */
  distinctStringAgg(expression: string, separator: string): string;

  // -- statements --
  createSchemaIfNotExists(schema: string): string;
  createTableAs(ref: TableRef, selectSql: string): string;
  /** Atomic replace; used only where `capabilities.createOrReplaceTable`. */
  createOrReplaceTableAs(ref: TableRef, selectSql: string): string;
  createView(ref: TableRef, selectSql: string): string;
  /** Atomic view replace; used where DDL is not transactional (BigQuery, Snowflake). */
  createOrReplaceView(ref: TableRef, selectSql: string): string;
  createTable(ref: TableRef, columns: Column[]): string;
  dropTableIfExists(ref: TableRef): string;
  dropViewIfExists(ref: TableRef): string;
  /** Renames a table within its schema. */
  renameTable(from: TableRef, toName: string): string;
  /** Statements that bring `source`'s rows into `target`, replacing rows with the same key. */
  merge(spec: MergeSpec): string[];

  // -- introspection (queries whose rows the warehouse normalises to lower-case keys) --
  /** One row `{ kind: 'table' | 'view' }` if the relation exists, none otherwise. */
  relationKindSql(ref: TableRef): string;
  /** Rows `{ column_name, data_type }` in ordinal order. */
  columnsSql(ref: TableRef): string;
}

export type DateUnit = 'second' | 'minute' | 'hour' | 'day' | 'week' | 'month' | 'year';
