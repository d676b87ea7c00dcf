/**
 * Stable ids and incremental runs on real DuckDB and PostgreSQL: unrelated data changes
 * no profile_id; a merge keeps the older id and is logged; a split keeps the id on the
 * larger part; a full rebuild keeps every id; incremental = full rebuild, table by table.
 */
import type { Column, Row } from '../../src/warehouse';
import { localWarehouseTypes, openTestWarehouse, uniqueName, type TestWarehouse } from '../helpers/test-warehouses';
import { makeIdentityWorld, ts, type IdentityWorld } from './identity-harness';

const s = (name: string): Column => ({ name, type: 'string' });
const t = (name: string): Column => ({ name, type: 'timestamp' });

const tables = {
  app_users: [s('user_id'), s('email'), t('created_at')],
  web: [s('anonymous_id'), s('user_id'), t('occurred_at')],
  crm: [s('contact_id'), s('email'), t('updated_at')],
};

const identityYml = `identifiers:
  user_id: { limit: 1 }
  crm_id: {}
  email: { limit: 2 }
  anonymous_id: {}
sources:
  - { name: app_users, source: raw.app_users, identifiers: { user_id: user_id, email: email }, timestamp: created_at }
  - { name: web, source: raw.web, identifiers: { anonymous_id: anonymous_id, user_id: user_id }, timestamp: occurred_at }
  - { name: crm, source: raw.crm, identifiers: { crm_id: contact_id, email: email }, timestamp: updated_at }
`;

async function idMap(world: IdentityWorld): Promise<Map<string, string>> {
  const rows = await world.rows('identity_graph');
  return new Map(rows.map((r) => [`${r.identifier_type}:${r.identifier_value}`, String(r.profile_id)]));
}

describe.each(localWarehouseTypes)('stable profile ids on %s', (type) => {
  let wh: TestWarehouse;
  beforeEach(async () => {
    wh = await openTestWarehouse(type);
  });
  afterEach(() => wh.cleanup());

  test('unrelated data and full rebuilds change no existing profile_id', async () => {
    const world = await makeIdentityWorld(wh.warehouse, wh.schema, wh.schema, tables, identityYml);
    await world.insert('app_users', [
      { user_id: 'u1', email: 'ann@x.io', created_at: ts('2024-01-01') },
      { user_id: 'u2', email: 'bob@x.io', created_at: ts('2024-01-02') },
    ]);
    await world.insert('web', [{ anonymous_id: 'a1', user_id: 'u1', occurred_at: ts('2024-01-03') }]);
    await world.run();
    const before = await idMap(world);
    // New people whose values sort before and after the old ones (dense ids all shift).
    await world.insert('app_users', [
      { user_id: 'u0', email: 'aaa@x.io', created_at: ts('2024-02-01') },
      { user_id: 'u9', email: 'zed@x.io', created_at: ts('2024-02-02') },
    ]);
    const incremental = await world.run();
    expect(incremental.mode).toBe('incremental');
    const after = await idMap(world);
    for (const [key, id] of before) expect(after.get(key)).toBe(id);
    expect(after.get('user_id:u0')).not.toBe(after.get('user_id:u9'));
    const rebuilt = await world.run({ fullRefresh: true });
    expect(rebuilt.mode).toBe('full');
    expect(await idMap(world)).toEqual(after);
    expect(rebuilt.counts).toMatchObject({ newProfiles: 0, merges: 0, splits: 0 });
  });

  test('a merge keeps the older id and logs the merge', async () => {
    const world = await makeIdentityWorld(wh.warehouse, wh.schema, wh.schema, tables, identityYml);
    await world.insert('web', [{ anonymous_id: 'a5', user_id: null, occurred_at: ts('2024-01-01') }]);
    await world.run();
    const older = await world.profileOf('anonymous_id:a5');
    await world.insert('app_users', [{ user_id: 'u5', email: 'eve@x.io', created_at: ts('2024-02-01') }]);
    await world.run();
    const newer = await world.profileOf('user_id:u5');
    expect(newer).not.toBe(older);
    await world.insert('web', [{ anonymous_id: 'a5', user_id: 'u5', occurred_at: ts('2024-03-01') }]);
    const result = await world.run();
    expect(result.counts.merges).toBe(1);
    expect(await world.profileOf('user_id:u5')).toBe(older);
    expect(await world.profileOf('email:eve@x.io')).toBe(older);
    const merges = await world.rows('identity_merges', 'run');
    expect(merges.map((m) => [Number(m.run), m.kind, m.from_profile_id, m.to_profile_id])).toEqual([[3, 'merge', newer, older]]);
  });

  test('a split keeps the id on the larger part and logs the split', async () => {
    const world = await makeIdentityWorld(wh.warehouse, wh.schema, wh.schema, tables, identityYml);
    await world.insert('app_users', [{ user_id: 'u7', email: 'gus@x.io', created_at: ts('2024-01-01') }]);
    await world.insert('web', [
      { anonymous_id: 'x1', user_id: 'u7', occurred_at: ts('2024-01-02') },
      { anonymous_id: 'x2', user_id: 'u7', occurred_at: ts('2024-01-03') },
    ]);
    await world.insert('crm', [{ contact_id: 'c9', email: 'gus@x.io', updated_at: ts('2024-01-04') }]);
    await world.run();
    const id = await world.profileOf('user_id:u7');
    expect(await world.profileOf('crm_id:c9')).toBe(id);
    // The only row tying the login to the email goes away (say, erased): rebuild.
    await wh.warehouse.execute(`DELETE FROM ${wh.warehouse.dialect.qualify({ schema: wh.schema, name: 'app_users' })}`);
    const result = await world.run({ fullRefresh: true });
    expect(result.counts.splits).toBe(1);
    expect(await world.profileOf('user_id:u7')).toBe(id); // {u7, x1, x2}: the larger part
    const other = await world.profileOf('crm_id:c9');
    expect(other).not.toBe(id);
    expect(await world.profileOf('email:gus@x.io')).toBe(other);
    const merges = await world.rows('identity_merges', 'run');
    expect(merges.map((m) => [m.kind, m.from_profile_id, m.to_profile_id, Number(m.identifiers)])).toEqual([['split', id, other, 2]]);
  });

  test('an incremental run gives the same tables as a full rebuild', async () => {
    const otherSchema = uniqueName('t');
    await wh.warehouse.execute(wh.warehouse.dialect.createSchemaIfNotExists(otherSchema));
    try {
      const incremental = await makeIdentityWorld(wh.warehouse, wh.schema, wh.schema, tables, identityYml);
      const full = await makeIdentityWorld(wh.warehouse, wh.schema, otherSchema, tables, identityYml, { createTables: false });
      await incremental.insert('app_users', [
        { user_id: 'u1', email: 'ann@x.io', created_at: ts('2024-01-01') },
        { user_id: 'u2', email: 'bob@x.io', created_at: ts('2024-01-02') },
        { user_id: 'u3', email: 'cy@x.io', created_at: ts('2024-01-03') },
      ]);
      await incremental.insert('web', [
        { anonymous_id: 'a1', user_id: 'u1', occurred_at: ts('2024-01-04') },
        { anonymous_id: 'a2', user_id: null, occurred_at: ts('2024-01-05') },
        { anonymous_id: 'a3', user_id: null, occurred_at: ts('2024-01-05') },
      ]);
      await incremental.insert('crm', [{ contact_id: 'c1', email: 'ann@x.io', updated_at: ts('2024-01-06') }]);
      await incremental.run();
      await full.run();
      // New data: a merge (a2 joins u2), a limit conflict (a1 also logs in as u3), a new
      // person, a second email for ann, and a CRM record tying two old profiles' emails.
      await incremental.insert('web', [
        { anonymous_id: 'a2', user_id: 'u2', occurred_at: ts('2024-02-01') },
        { anonymous_id: 'a1', user_id: 'u3', occurred_at: ts('2024-02-02') },
        { anonymous_id: 'a9', user_id: 'u9', occurred_at: ts('2024-02-03') },
      ]);
      await incremental.insert('crm', [
        { contact_id: 'c1', email: 'ann@work.io', updated_at: ts('2024-02-04') },
        { contact_id: 'c2', email: 'cy@x.io', updated_at: ts('2024-02-05') },
        { contact_id: 'c2', email: 'bob@x.io', updated_at: ts('2024-02-06') },
      ]);
      const inc = await incremental.run();
      expect(inc.mode).toBe('incremental');
      expect(inc.counts.affectedIdentifiers).toBeLessThan(inc.counts.identifiers);
      await full.run({ fullRefresh: true });
      const strip = (rows: Row[]) => rows.map(({ merged_at: _ignored, ...rest }) => rest);
      for (const [table, order] of [
        ['identity_graph', 'identifier_type, identifier_value'],
        ['profiles', 'profile_id'],
        ['identity_rejections', 'kind, identifier_type, identifier_value, other_value'],
        ['identity_merges', 'run, kind, from_profile_id, to_profile_id'],
      ] as const) {
        expect({ table, rows: strip(await incremental.rows(table, order)) }).toEqual({ table, rows: strip(await full.rows(table, order)) });
      }
      expect((await incremental.rows('identity_rejections')).some((r) => r.kind === 'limit')).toBe(true);
      expect((await incremental.rows('identity_merges')).length).toBeGreaterThan(0);
    } finally {
      await wh.warehouse.execute(`DROP SCHEMA IF EXISTS ${wh.warehouse.dialect.quoteIdent(otherSchema)} CASCADE`);
    }
  });
});
