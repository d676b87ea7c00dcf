/**
 * The profile lookup's one statement on DuckDB and PostgreSQL: the hit, its profile row,
 * its identifiers (capped, sorted) and its open memberships; no hit is no row; before the
 * first segments run (no history table) the statement leaves memberships out.
 */
import { lookupSql } from '../../src/server/routes/profiles';
import type { TableRef } from '../../src/warehouse';
import { localWarehouseTypes, openTestWarehouse, type TestWarehouse } from '../helpers/test-warehouses';

describe.each(localWarehouseTypes)('profile lookup SQL on %s', (type) => {
  let t: TestWarehouse;
  let graph: TableRef;
  let profiles: TableRef;
  let history: TableRef;

  beforeAll(async () => {
    t = await openTestWarehouse(type);
    const d = t.warehouse.dialect;
    graph = { schema: t.schema, name: 'identity_graph' };
    profiles = { schema: t.schema, name: 'profiles' };
    history = { schema: t.schema, name: 'segment_membership_history' };
    await t.warehouse.execute(`CREATE TABLE ${d.qualify(graph)} (identifier_type VARCHAR(40), identifier_value VARCHAR(200), profile_id VARCHAR(40))`);
    await t.warehouse.execute(`CREATE TABLE ${d.qualify(profiles)} (profile_id VARCHAR(40), first_name VARCHAR(40), orders_count INTEGER)`);
    await t.warehouse.execute(`CREATE TABLE ${d.qualify(history)} (segment VARCHAR(40), profile_id VARCHAR(40), entered_at TIMESTAMP, exited_at TIMESTAMP)`);
    await t.warehouse.execute(
      `INSERT INTO ${d.qualify(graph)} VALUES ('email', 'ann@example.com', 'p1'), ('user_id', 'u1', 'p1'), ('anonymous_id', 'a9', 'p1'), ('email', 'bob@example.com', 'p2')`,
    );
    await t.warehouse.execute(`INSERT INTO ${d.qualify(profiles)} VALUES ('p1', 'Ann', 3), ('p2', 'Bob', 0)`);
    await t.warehouse.execute(
      `INSERT INTO ${d.qualify(history)} VALUES ('vip', 'p1', TIMESTAMP '2026-01-01 00:00:00', NULL), ('churned', 'p1', TIMESTAMP '2026-01-01 00:00:00', TIMESTAMP '2026-02-01 00:00:00'), ('all', 'p1', TIMESTAMP '2026-01-01 00:00:00', NULL), ('vip', 'p2', TIMESTAMP '2026-01-01 00:00:00', NULL)`,
    );
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  test('one statement: profile columns on every row, then identifiers and open memberships', async () => {
    const rows = await t.warehouse.query(lookupSql(t.warehouse.dialect, { graph, profiles, history }, { type: 'email', value: 'ann@example.com' }));
    expect(rows.map((r) => [r.__cdp_hit, r.__cdp_part, r.__cdp_a, r.__cdp_b, r.first_name, Number(r.orders_count)])).toEqual([
      ['p1', 'identifier', 'anonymous_id', 'a9', 'Ann', 3],
      ['p1', 'identifier', 'email', 'ann@example.com', 'Ann', 3],
      ['p1', 'identifier', 'user_id', 'u1', 'Ann', 3],
      ['p1', 'segment', 'all', null, 'Ann', 3],
      ['p1', 'segment', 'vip', null, 'Ann', 3],
    ]);
  });

  test('no hit, no row; no history table, no memberships', async () => {
    expect(await t.warehouse.query(lookupSql(t.warehouse.dialect, { graph, profiles, history }, { type: 'email', value: 'nobody@example.com' }))).toEqual([]);
    const rows = await t.warehouse.query(lookupSql(t.warehouse.dialect, { graph, profiles }, { type: 'email', value: 'bob@example.com' }));
    expect(rows.map((r) => [r.__cdp_hit, r.__cdp_part, r.__cdp_a])).toEqual([['p2', 'identifier', 'email']]);
  });
});
