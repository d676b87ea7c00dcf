/** The file connector: conformance (records replayed from the run's file) plus CSV quoting. */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import file from '../../connectors/file';
import { parseCsvLine } from '../../connectors/file/client';
import { createConnectorContext, type OutboundRow } from '../../connectors/kit';
import { describeConnectorConformance } from './conformance';

const rows = (count: number, variant = 0): OutboundRow[] =>
  Array.from({ length: count }, (_, i) => ({ key: `k${i}`, fields: { name: `n${i}-${variant}`, score: i + variant } }));

/** Replays a folder of JSONL run files into records, as a downstream importer would. */
function replay(dir: string): Map<string, Record<string, unknown>> {
  const records = new Map<string, Record<string, unknown>>();
  for (const name of readdirSync(dir).sort()) {
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n').filter(Boolean)) {
      const { op, key, fields } = JSON.parse(line) as { op: string; key: string; fields: Record<string, unknown> };
      if (op === 'delete' || op === 'remove') records.delete(key);
      else records.set(key, { ...records.get(key), ...fields });
    }
  }
  return records;
}

describeConnectorConformance(file, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cdp-file-'));
  return {
    config: { folder: dir, format: 'jsonl' as const },
    object: 'records',
    rows,
    records: async () => replay(dir),
    close: async () => rmSync(dir, { recursive: true, force: true }),
  };
}, { storedValue: (v) => v });

test('CSV: one header from the mapping, quoting, removes with empty fields', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cdp-file-'));
  try {
    const ctx = { ...createConnectorContext('file', file.config.parse({ folder: 'out', format: 'csv' })), baseDir: dir, run: { id: 'run-1234567890', sync: 'vip', startedAt: new Date('2026-01-02T03:04:05Z') } };
    await file.write(ctx, { object: 'records', op: 'upsert', rows: [{ key: 'a', fields: { name: 'Ann, "the" first', n: 1 } }], options: {} });
    await file.write(ctx, { object: 'records', op: 'delete', rows: [{ key: 'b', fields: {} }], options: {} });
    const files = readdirSync(join(dir, 'out'));
    expect(files).toEqual(['vip-records-20260102T030405Z-run-1234.csv']);
    const lines = readFileSync(join(dir, 'out', files[0]!), 'utf8').trim().split('\n');
    expect(lines.map(parseCsvLine)).toEqual([
      ['op', 'key', 'name', 'n'],
      ['upsert', 'a', 'Ann, "the" first', '1'],
      ['delete', 'b', '', ''],
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
