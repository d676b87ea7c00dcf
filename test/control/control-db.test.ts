/**
 * The control DB on both backends: migrations apply (and re-apply as a no-op), and run
 * records round-trip through the repository with their types intact.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finishRun, modelRunsOf, openControlDb, recentRuns, recordModelResult, startRun, type ControlDb } from '../../src/control';
import { migrations } from '../../src/control/migrations';
import { CdpError } from '../../src/errors';
import { POSTGRES_TEST_URL, uniqueName } from '../helpers/test-warehouses';

const dir = mkdtempSync(join(tmpdir(), 'cdp-control-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pgSchema = uniqueName('ctl');
const backends: [string, string][] = [
  ['sqlite', 'sqlite://nested/folder/control.db'],
  ['postgres', `${POSTGRES_TEST_URL}?schema=${pgSchema}`],
];

describe.each(backends)('control DB on %s', (_name, url) => {
  let db: ControlDb;
  beforeAll(async () => {
    db = await openControlDb(url, dir);
  });
  afterAll(async () => {
    if (url.startsWith('postgres')) await db.knex.raw(`DROP SCHEMA IF EXISTS "${pgSchema}" CASCADE`);
    await db.close();
  });

  test('migrations are idempotent', async () => {
    const again = await openControlDb(url, dir);
    const applied = await again.knex('cdp_migrations').select('name');
    expect(applied.map((r: { name: string }) => r.name)).toEqual(migrations.map((m) => m.name));
    await again.close();
  });

  test('a run and its model results round-trip', async () => {
    const runId = await startRun(db, { project: 'p', kind: 'models', selector: 'tag:x', warehouseType: 'duckdb' });
    expect((await recentRuns(db, 'p'))[0]).toMatchObject({ id: runId, status: 'running', finished_at: null });
    const startedAt = new Date('2026-11-01T10:00:00.123Z');
    await recordModelResult(db, runId, { model: 'a', path: 'models/a.sql', status: 'success', kind: 'table', rows: 12345678901, startedAt, durationMs: 42 });
    await recordModelResult(db, runId, { model: 'b', path: 'models/b.sql', status: 'error', startedAt, durationMs: 7, message: 'models/b.sql: boom' });
    await finishRun(db, runId, { results: [], counts: { success: 1, error: 1, skipped: 0 }, durationMs: 50, ok: false });

    const [run] = await recentRuns(db, 'p');
    expect(run).toMatchObject({ id: runId, status: 'error', selector: 'tag:x', warehouse_type: 'duckdb' });
    expect(JSON.parse(run.counts!)).toEqual({ success: 1, error: 1, skipped: 0 });
    expect(run.finished_at).toBeInstanceOf(Date);
    const models = await modelRunsOf(db, runId);
    expect(models).toEqual([
      expect.objectContaining({ model: 'a', status: 'success', build_kind: 'table', rows: 12345678901, started_at: startedAt, duration_ms: 42 }),
      expect.objectContaining({ model: 'b', status: 'error', message: 'models/b.sql: boom', rows: null }),
    ]);
  });
});

test('an unreachable control DB is a one-line error with a hint', async () => {
  const error = await openControlDb('postgres://127.0.0.1:1/nope', dir).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(CdpError);
  expect((error as CdpError).toLine()).toMatch(/^control postgres:\/\/127\.0\.0\.1:1\/nope: cannot open the control database: .+ — check control\.url/);
});
