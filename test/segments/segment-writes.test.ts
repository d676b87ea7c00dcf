/**
 * `writeSegments` serialises writes of API segments on both control DB backends: a write
 * reads the stored set, checks, and writes inside one transaction holding the table's write
 * lock, so a second write — from this process or another server on the same PostgreSQL —
 * reads the set only after the first committed. (The route test shows what that prevents:
 * two concurrent PUTs that together would close an in_segment cycle.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openControlDb, type ControlDb } from '../../src/control';
import { apiSegmentRecords, insertApiSegment, writeSegments } from '../../src/segments';
import { POSTGRES_TEST_URL, uniqueName } from '../helpers/test-warehouses';

const dir = mkdtempSync(join(tmpdir(), 'cdp-segment-writes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pgSchema = uniqueName('segw');
const backends: [string, string][] = [
  ['sqlite', 'sqlite://control.db'],
  ['postgres', `${POSTGRES_TEST_URL}?schema=${pgSchema}`],
];

describe.each(backends)('segment writes on %s', (name, url) => {
  let first: ControlDb;
  let second: ControlDb;
  beforeAll(async () => {
    first = await openControlDb(url, dir);
    // Another server on the same PostgreSQL; SQLite is one process's file (one connection).
    second = name === 'postgres' ? await openControlDb(url, dir) : first;
  });
  afterAll(async () => {
    if (name === 'postgres') {
      await second.close();
      await first.knex.raw(`DROP SCHEMA IF EXISTS "${pgSchema}" CASCADE`);
    }
    await first.close();
  });

  test('two concurrent writes: the second reads what the first wrote', async () => {
    // Each write names its row after how many rows it saw: serialised, one saw the other's.
    const write = (db: ControlDb, prefix: string) =>
      writeSegments(db, async (store) => {
        const seen = (await apiSegmentRecords(store, 'p')).length;
        await new Promise((resolve) => setTimeout(resolve, 150));
        await insertApiSegment(store, { project: 'p', name: `${prefix}_${seen}`, definition: '{}', createdBy: 'test' });
      });
    await Promise.all([write(first, 'a'), write(second, 'b')]);
    const names = (await apiSegmentRecords(first, 'p')).map((r) => r.name).sort();
    expect([['a_0', 'b_1'], ['a_1', 'b_0']]).toContainEqual(names);
  });

  test('a write that throws leaves nothing behind', async () => {
    await expect(
      writeSegments(first, async (store) => {
        await insertApiSegment(store, { project: 'q', name: 'half', definition: '{}', createdBy: 'test' });
        throw new Error('refused after writing');
      }),
    ).rejects.toThrow('refused after writing');
    expect(await apiSegmentRecords(first, 'q')).toEqual([]);
  });
});
