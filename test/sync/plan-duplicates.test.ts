/**
 * The one-pass plan finds duplicate keys among the rows that need something; a key the sync
 * already holds that is now duplicated — with one copy, or every copy, unchanged — is only
 * visible through the plan's check row, and the planner must then plan again with the exact
 * duplicate search. (The property test rarely draws this shape, so it is pinned here.)
 */
import { planSync } from '../../src/sync';
import { localWarehouseTypes } from '../helpers/test-warehouses';
import { openSyncFixture, type Person, type SyncFixture } from './sync-fixture';

describe.each(localWarehouseTypes)('duplicate keys the sync holds, on %s', (type) => {
  let fx: SyncFixture;
  beforeAll(async () => {
    fx = await openSyncFixture({ type, syncOptions: 'max_deletion_share: 1' });
  });
  afterAll(async () => fx.cleanup());

  const ann: Person = { email: 'a@x.io', first_name: 'Ann', tier: 'VIP', consent: 'granted' };
  const bo: Person = { email: 'b@x.io', first_name: 'Bo', tier: 'Basic', consent: 'granted' };

  test.each([
    ['every copy unchanged', [ann, ann, bo]],
    ['one copy unchanged, one changed', [ann, { ...ann, tier: 'Basic' }, bo]],
    ['one copy unchanged, one without consent', [ann, { ...ann, consent: 'denied' }, bo]],
  ])('%s: both rows invalid, nothing sent or removed', async (_name, after) => {
    const d = fx.wh.warehouse.dialect;
    const { state, plan, rejected } = fx.target.tables;
    await fx.setAudience([ann, bo]);
    await fx.wh.warehouse.execute(`DELETE FROM ${d.qualify(state)}`).catch(() => undefined);
    await fx.wh.warehouse.execute(`DELETE FROM ${d.qualify(rejected)}`).catch(() => undefined);
    await planSync(fx.wh.warehouse, fx.target, { full: false, retryRejected: false });
    await fx.wh.warehouse.execute(
      `INSERT INTO ${d.qualify(state)} (key, row_hash, external_id, created, synced_at, run_id) SELECT __key, __hash, NULL, TRUE, ${d.now()}, 'r' FROM ${d.qualify(plan)} WHERE __kind = 'added'`,
    );
    await fx.setAudience(after as Person[]);
    const result = await planSync(fx.wh.warehouse, fx.target, { full: false, retryRejected: false });
    expect(result.counts).toMatchObject({ planned: 0, added: 0, changed: 0, removed: 0, invalid: 2, unchanged: 2 });
    const rows = await fx.wh.warehouse.query<{ k: string; kind: string; op: string | null }>(
      `SELECT __key AS k, __kind AS kind, __op AS op FROM ${d.qualify(plan)} WHERE __key IS NOT NULL ORDER BY __kind`,
    );
    expect(rows).toEqual([
      { k: 'a@x.io', kind: 'invalid_duplicate_key', op: null },
      { k: 'a@x.io', kind: 'invalid_duplicate_key', op: null },
    ]);
  });
});
