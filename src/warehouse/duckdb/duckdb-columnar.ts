/**
 * DuckDB's columnar fast path (`Warehouse.columnar`): integer columns read and appended as
 * typed arrays, chunk by chunk, with no per-row JS objects. It exists for in-process
 * algorithms such as identity's union-find, where converting millions of rows to objects
 * would cost more than the algorithm itself.
 *
 * Invariants: a scan never silently truncates (the query is written to a connection-private
 * temp table first and the rows handed out are counted against it, the same guard as the
 * adapter's `stream`); an append is one transaction; every driver error leaves as a CdpError
 * with code WAREHOUSE.
 */
import { DuckDBDataChunk, DuckDBIntegerVector, INTEGER, type DuckDBConnection } from '@duckdb/node-api';
import { CdpError, messageOf, warehouseError } from '../../errors';
import type { ColumnarAccess, Dialect, TableRef } from '../types';

/** DuckDB's standard vector size: the most rows one data chunk holds. */
const CHUNK_ROWS = 2048;
let scanCounter = 0;

type UseConnection = <T>(work: (connection: DuckDBConnection) => Promise<T>) => Promise<T>;

export function duckdbColumnar(use: UseConnection, dialect: Dialect, defaultSchema: string): ColumnarAccess {
  return {
    scanInt32: (sql, onChunk) =>
      use(async (connection) => {
        const temp = `temp.main.${dialect.quoteIdent(`cdp_scan_${process.pid}_${++scanCounter}`)}`;
        try {
          await connection.run(`CREATE TEMP TABLE ${temp} AS\n${sql.replace(/[\s;]+$/, '')}\n`);
          const expected = Number((await (await connection.run(`SELECT COUNT(*) FROM ${temp}`)).getRows())[0][0]);
          const result = await connection.stream(`SELECT * FROM ${temp}`);
          const width = result.columnCount;
          // Reused buffers: the callback must consume a chunk before the next one arrives.
          const buffers = Array.from({ length: width }, () => new Int32Array(CHUNK_ROWS));
          let seen = 0;
          for (;;) {
            const chunk = await result.fetchChunk();
            if (!chunk || chunk.rowCount === 0) break;
            const rows = chunk.rowCount;
            for (let c = 0; c < width; c++) {
              const vector = chunk.getColumnVector(c);
              if (!(vector instanceof DuckDBIntegerVector)) {
                throw warehouseError('duckdb', `columnar scan: column ${c + 1} is ${vector.type.toString()}, not INTEGER`, 'this is a bug: cast every scanned column to INTEGER');
              }
              const out = buffers[c];
              for (let i = 0; i < rows; i++) {
                const value = vector.getItem(i);
                if (value === null) throw warehouseError('duckdb', `columnar scan: NULL in column ${c + 1}`, 'this is a bug: filter NULLs out of a columnar scan');
                out[i] = value;
              }
            }
            onChunk(buffers, rows);
            seen += rows;
          }
          if (seen !== expected) {
            throw warehouseError('duckdb', `the columnar scan ended after ${seen} of ${expected} rows`, 'rerun; if it persists, DuckDB may be out of memory or disk for its temp directory');
          }
          return seen;
        } catch (error) {
          throw wrap(error);
        } finally {
          await connection.run(`DROP TABLE IF EXISTS ${temp}`).catch(() => undefined);
        }
      }),

    appendInt32: (table, columns, rowCount) =>
      use(async (connection) => {
        const target: TableRef = { schema: table.schema ?? defaultSchema, name: table.name };
        for (const column of columns) {
          if (column.length < rowCount) throw warehouseError('duckdb', `columnar append: a column holds ${column.length} of ${rowCount} rows`, 'this is a bug: pass equal-length columns');
        }
        await connection.run('BEGIN TRANSACTION');
        try {
          const appender = await connection.createAppender(target.name, target.schema);
          try {
            // The appender casts INTEGER chunks into BIGINT columns, so one chunk type serves both.
            const chunk = DuckDBDataChunk.create(columns.map(() => INTEGER));
            for (let offset = 0; offset < rowCount; offset += CHUNK_ROWS) {
              const rows = Math.min(CHUNK_ROWS, rowCount - offset);
              chunk.rowCount = rows;
              columns.forEach((column, c) => {
                const vector = chunk.getColumnVector(c) as DuckDBIntegerVector;
                for (let i = 0; i < rows; i++) vector.setItem(i, column[offset + i]);
                vector.flush();
              });
              appender.appendDataChunk(chunk);
            }
            appender.flushSync();
          } finally {
            appender.closeSync();
          }
          await connection.run('COMMIT');
          return rowCount;
        } catch (error) {
          await connection.run('ROLLBACK').catch(() => undefined);
          throw wrap(error);
        }
      }),
  };
}

function wrap(error: unknown): CdpError {
  if (error instanceof CdpError) return error;
  return warehouseError('duckdb', messageOf(error).split('\n')[0].trim(), 'check the SQL of the columnar scan or the target table', error);
}
