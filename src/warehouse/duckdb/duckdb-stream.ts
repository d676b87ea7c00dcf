/**
 * `stream` for DuckDB, the fast way: the query is written by DuckDB itself (`COPY … TO`, on
 * its own threads) to a private temp file as one JSON object per row, and the file is read
 * back in blocks — one `JSON.parse` per row instead of a native call per string value,
 * which is what dominates reading a chunk through node-api (a 1M-row sync diff: ~0.6 s of
 * JavaScript instead of 2.5–4 s).
 *
 * Why a file and not DuckDB's own streaming fetch: that fetch cannot tell "the query failed
 * mid-way" from "the result ended" (both come back as no chunk), so it could silently
 * truncate a sync's diff. `COPY` is one statement that fails as a whole before a row is
 * handed out, and reports how many rows it wrote; the rows read back are counted against
 * that. The file lives on disk (not in this process's memory), so memory stays bounded by
 * one block, and the connection is free again as soon as the COPY is done.
 *
 * The value contract (types.ts) is kept by the projection: integers outside ±2^53 travel as
 * text, timestamps as epoch milliseconds (floored, like the chunk path) or their text when a
 * JS Date cannot hold them, non-finite floats as text, JSON as text. Column types this
 * projection does not cover (lists, structs, intervals, blobs …) fall back to the chunk path.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBTypeId } from '@duckdb/node-api';
import type { Row, Scalar } from '../types';

/** How a column travels through the JSON file, and how it is restored. */
type Transport = { sql: (column: string) => string; restore?: (value: unknown) => Scalar };

const SAFE = '9007199254740991';
/** Largest |ms| a JS Date holds. */
const MAX_DATE_MS = '8640000000000000';

const asJson = (column: string) => column;
const asText = (column: string) => `CAST(${column} AS VARCHAR)`;
/** Exact integers as JSON numbers, the rest as their decimal text (integerToScalar's rule). */
const bigInteger = (column: string) =>
  `CASE WHEN CAST(${column} AS DOUBLE) BETWEEN -${SAFE} AND ${SAFE} THEN to_json(${column}) ELSE to_json(CAST(${column} AS VARCHAR)) END`;
/** Floats: JSON has no NaN/Infinity, so those travel as text and are restored by Number(). */
const float = (column: string) =>
  `CASE WHEN ${column} IS NULL THEN NULL WHEN isfinite(${column}) THEN to_json(CAST(${column} AS DOUBLE)) WHEN isnan(${column}) THEN to_json('NaN') WHEN ${column} > 0 THEN to_json('Infinity') ELSE to_json('-Infinity') END`;
/** Epoch ms floored (not truncated) like dateFromEpochMicros; text when a Date cannot hold it. */
const timestamp = (column: string) => {
  const us = `epoch_us(${column})`;
  const ms = `((${us} - ((${us} % 1000) + 1000) % 1000) // 1000)`;
  return `CASE WHEN isfinite(${column}) AND ${ms} BETWEEN -${MAX_DATE_MS} AND ${MAX_DATE_MS} THEN to_json(${ms}) ELSE to_json(CAST(${column} AS VARCHAR)) END`;
};
const restoreFloat = (value: unknown): Scalar => (typeof value === 'string' ? Number(value) : (value as Scalar));
const restoreTimestamp = (value: unknown): Scalar => (typeof value === 'number' ? new Date(value) : (value as Scalar));

function transportOf(typeId: DuckDBTypeId): Transport | undefined {
  switch (typeId) {
    case DuckDBTypeId.BOOLEAN:
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
      return { sql: asJson };
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
      return { sql: bigInteger };
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
      return { sql: float, restore: restoreFloat };
    case DuckDBTypeId.DECIMAL:
      // The chunk path reads DECIMAL as a double too.
      return { sql: (c) => float(`CAST(${c} AS DOUBLE)`), restore: restoreFloat };
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
      return { sql: timestamp, restore: restoreTimestamp };
    case DuckDBTypeId.VARCHAR: // JSON too (an alias of VARCHAR): cast, or it would be embedded as JSON
    case DuckDBTypeId.DATE: // 'YYYY-MM-DD', 'infinity'
    case DuckDBTypeId.UUID:
    case DuckDBTypeId.ENUM:
    case DuckDBTypeId.SQLNULL:
      return { sql: asText };
    default:
      return undefined;
  }
}

export interface StreamColumns {
  names: string[];
  typeIds: DuckDBTypeId[];
}

/** The transports of every column, or undefined when one has a type the JSON path does not cover. */
export function jsonTransports(columns: StreamColumns): Transport[] | undefined {
  const transports: Transport[] = [];
  for (const typeId of columns.typeIds) {
    const transport = transportOf(typeId);
    if (!transport) return undefined;
    transports.push(transport);
  }
  return transports;
}

/** Bytes read from the file at a time, so memory stays near this. */
const BLOCK_BYTES = 64 << 10;

/**
 * Runs `body` (a single SELECT) into a temp file through `copy` (which runs a COPY statement
 * and returns the rows it wrote; the caller's connection is free again once it returns) and
 * yields its rows in batches of `batchRows`. Throws (before yielding anything) when the query
 * fails; throws when the file holds fewer rows than DuckDB reported writing.
 *
 * Each line is a JSON object keyed by the row's final (lower-cased) column names, so one
 * `JSON.parse` per line builds the row itself: no intermediate array or block-sized strings
 * for the garbage collector (a 1M-row sync delivery: ~20% fewer young-generation GCs).
 */
export async function* streamThroughFile(
  copy: (sql: string) => Promise<number>,
  body: string,
  columns: StreamColumns,
  transports: Transport[],
  batchRows: number,
  onError: (error: unknown) => Error,
  onShort: (seen: number, expected: number) => Error,
): AsyncGenerator<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'cdp-duckdb-stream-'));
  try {
    const file = join(dir, 'rows.json');
    const aliases = columns.names.map((_, i) => `c${i}`);
    // Row keys are lower-cased column names; where two collide the later column wins (as
    // building the row key by key would), and DuckDB refuses duplicate names, so only the
    // last column of each name is written.
    const keys = columns.names.map((n) => n.toLowerCase());
    const written = keys.map((key, i) => keys.lastIndexOf(key) === i);
    const projection = transports
      .map((t, i) => (written[i] ? `${t.sql(aliases[i])} AS "${keys[i].replace(/"/g, '""')}"` : undefined))
      .filter((p) => p !== undefined)
      .join(', ');
    let expected: number;
    try {
      // The newline keeps a trailing `-- comment` in `body` from swallowing what follows.
      expected = await copy(`COPY (SELECT ${projection} FROM (\n${body}\n) AS q(${aliases.join(', ')})) TO '${file.replace(/'/g, "''")}' (FORMAT json)`);
    } catch (error) {
      throw onError(error);
    }
    const restores = transports.flatMap((t, i) => (t.restore && written[i] ? [{ key: keys[i], restore: t.restore }] : []));
    const handle = await open(file, 'r');
    // Unlinked while open: the data stays readable, and nothing is left behind even if the
    // process is killed while the rows are being sent.
    rmSync(dir, { recursive: true, force: true });
    try {
      const buffer = Buffer.alloc(BLOCK_BYTES);
      let carry: Buffer | undefined;
      let batch: Row[] = [];
      let seen = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, BLOCK_BYTES, null);
        if (bytesRead === 0) break;
        let block = buffer.subarray(0, bytesRead);
        if (carry) block = Buffer.concat([carry, block]);
        // Lines end with '\n', which never occurs inside a UTF-8 sequence or JSON text.
        let start = 0;
        for (let end = block.indexOf(10, start); end >= 0; end = block.indexOf(10, start)) {
          const row = JSON.parse(block.toString('utf8', start, end)) as Record<string, unknown>;
          for (const { key, restore } of restores) row[key] = restore(row[key]);
          batch.push(row as Row);
          seen++;
          start = end + 1;
          if (batch.length === batchRows) {
            yield batch;
            batch = [];
          }
        }
        carry = start < block.length ? Buffer.from(block.subarray(start)) : undefined;
      }
      if (carry && carry.length > 0) throw onShort(seen, expected);
      if (seen !== expected) throw onShort(seen, expected);
      if (batch.length > 0) yield batch;
    } finally {
      await handle.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
