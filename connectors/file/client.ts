/**
 * Writes batches to one file per run: `<folder>/<sync>-<object>-<timestamp>-<run>.{csv,jsonl}`,
 * each line one row with its op (upsert, delete, add …), key and fields. Appends are
 * synchronous, so a row acknowledged to the engine is in the file (flushed to the OS) before
 * its outcome is returned. CSV gets its header from the first batch's fields (a sync's
 * mapping is fixed, so every row has the same fields; a missing one is written empty).
 */
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { csvCell, parseCsv, type Batch } from '../kit';

export type FileFormat = 'csv' | 'jsonl';

export function runFilePath(folder: string, baseDir: string | undefined, format: FileFormat, sync: string, object: string, runId: string, startedAt: Date): string {
  const dir = isAbsolute(folder) || !baseDir ? folder : join(baseDir, folder);
  const stamp = startedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return join(dir, `${sync}-${object}-${stamp}-${runId.slice(0, 8)}.${format}`);
}

export function appendBatch(path: string, format: FileFormat, batch: Batch): void {
  mkdirSync(join(path, '..'), { recursive: true });
  if (format === 'jsonl') {
    const lines = batch.rows.map((r) => JSON.stringify({ op: batch.op, key: r.key, fields: r.fields }));
    appendFileSync(path, `${lines.join('\n')}\n`);
    return;
  }
  let header = csvHeaders.get(path);
  if (header) {
    // known
  } else if (existsSync(path)) {
    header = parseCsvLine(readFirstLine(path));
  } else {
    const fields = new Set<string>();
    for (const row of batch.rows) for (const f of Object.keys(row.fields)) fields.add(f);
    header = ['op', 'key', ...fields];
    appendFileSync(path, `${header.map(cellOf).join(',')}\n`);
  }
  csvHeaders.set(path, header);
  const fieldNames = header.slice(2);
  const lines = batch.rows.map((r) => [batch.op, r.key, ...fieldNames.map((f) => r.fields[f] ?? null)].map(cellOf).join(','));
  appendFileSync(path, `${lines.join('\n')}\n`);
}

/** A field as CSV text: null is an empty cell, objects are JSON. */
function cellOf(value: unknown): string {
  if (value === null || value === undefined) return '';
  return csvCell(typeof value === 'object' ? JSON.stringify(value) : String(value));
}

/** Header of each CSV file this process writes (a resumed run reads it back from the file). */
const csvHeaders = new Map<string, string[]>();

function readFirstLine(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const text = buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, 0)).toString('utf8');
    return text.slice(0, text.indexOf('\n'));
  } finally {
    closeSync(fd);
  }
}

/** Parses one CSV line (RFC 4180 quoting). */
export function parseCsvLine(line: string): string[] {
  return parseCsv(line)[0] ?? [''];
}
