/**
 * Property: the warehouse diff equals an in-memory diff (DESIGN §5), on DuckDB and
 * PostgreSQL. For random before/after audiences — with null and duplicate keys, consent
 * flips, nulls in mapped columns — plan `before` against empty state, commit every sent row,
 * then plan `after`: the kinds per key match a plain Map-based diff of the mapped fields.
 */
import fc from 'fast-check';
import { planSync } from '../../src/sync';
import { localWarehouseTypes } from '../helpers/test-warehouses';
import { openSyncFixture, type Person, type SyncFixture } from './sync-fixture';

const person = fc.record({
  email: fc.option(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h').map((k) => `${k}@x.io`), { nil: null, freq: 12 }),
  first_name: fc.option(fc.constantFrom('Ann', 'Bo', ' Ann', ''), { nil: null }),
  tier: fc.constantFrom('VIP', 'vip', 'Basic'),
  consent: fc.constantFrom('granted', 'granted', 'denied'),
});

type Kind = 'added' | 'changed' | 'removed' | 'skipped_consent' | 'invalid';

/** The reference: what should happen to each key, from two lists of people. */
function memoryDiff(before: Person[], after: Person[]): Map<string, Kind> {
  const valid = (list: Person[]) => {
    const counts = new Map<string, number>();
    for (const p of list) if (p.email) counts.set(p.email, (counts.get(p.email) ?? 0) + 1);
    return { rows: new Map(list.filter((p) => p.email && counts.get(p.email) === 1).map((p) => [p.email!, p])), dups: new Set([...counts].filter(([, n]) => n > 1).map(([k]) => k)) };
  };
  // The row hash covers the source columns the mapping reads (templates cannot run in SQL),
  // so ' Ann' → 'Ann' is a change even though `trim` sends the same name: a harmless resend.
  const mapped = (p: Person) => JSON.stringify([p.first_name, p.tier, p.email]);
  const b = valid(before);
  const state = new Map([...b.rows].filter(([, p]) => p.consent === 'granted').map(([k, p]) => [k, mapped(p)]));
  const a = valid(after);
  const kinds = new Map<string, Kind>();
  for (const [key, p] of a.rows) {
    if (p.consent !== 'granted') kinds.set(key, state.has(key) ? 'removed' : 'skipped_consent');
    else if (!state.has(key)) kinds.set(key, 'added');
    else if (state.get(key) !== mapped(p)) kinds.set(key, 'changed');
  }
  for (const key of state.keys()) if (!a.rows.has(key) && !a.dups.has(key)) kinds.set(key, 'removed');
  for (const key of a.dups) kinds.set(key, 'invalid');
  return kinds;
}

describe.each(localWarehouseTypes)('plan property on %s', (type) => {
  let fx: SyncFixture;
  beforeAll(async () => {
    fx = await openSyncFixture({ type, syncOptions: 'max_deletion_share: 1' });
  });
  afterAll(async () => fx.cleanup());

  test('warehouse diff == in-memory diff', async () => {
    const d = fx.wh.warehouse.dialect;
    const { state, plan, rejected } = fx.target.tables;
    await fc.assert(
      fc.asyncProperty(fc.array(person, { maxLength: 14 }), fc.array(person, { maxLength: 14 }), async (before, after) => {
        await fx.setAudience(before);
        await fx.wh.warehouse.execute(`DELETE FROM ${d.qualify(state)}`).catch(() => undefined);
        await fx.wh.warehouse.execute(`DELETE FROM ${d.qualify(rejected)}`).catch(() => undefined);
        await planSync(fx.wh.warehouse, fx.target, { full: false, retryRejected: false });
        // Commit as if the destination acknowledged every send.
        await fx.wh.warehouse.execute(
          `INSERT INTO ${d.qualify(state)} (key, row_hash, external_id, created, synced_at, run_id) SELECT __key, __hash, NULL, TRUE, ${d.now()}, 'r' FROM ${d.qualify(plan)} WHERE __kind = 'added'`,
        );
        await fx.setAudience(after);
        await planSync(fx.wh.warehouse, fx.target, { full: false, retryRejected: false });
        const rows = await fx.wh.warehouse.query<{ k: string | null; kind: string }>(`SELECT __key AS k, __kind AS kind FROM ${d.qualify(plan)}`);
        const actual = new Map<string, Kind>();
        for (const row of rows) {
          if (row.k === null) continue;
          actual.set(row.k, row.kind.startsWith('invalid') ? 'invalid' : (row.kind as Kind));
        }
        expect(Object.fromEntries([...actual].sort())).toEqual(Object.fromEntries([...memoryDiff(before, after)].sort()));
      }),
      { numRuns: 40, seed: 20261101 },
    );
  });
});
