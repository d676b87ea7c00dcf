/**
 * The profile lookup's one statement on DuckDB and PostgreSQL: the hit, its profile row,
 * its identifiers (capped, sorted) and its open memberships; no hit is no row; before the
 * first segments run (no history table) the statement leaves memberships out. And the merge
 * path's one statement (edges inside the profile, limit rejections, merges) with the path
 * grown from the looked-up identifier through shared identifiers. The merge path has one
 * zod definition in identity (its type is inferred from it); the route answers it as JSON.
 */
import { identityTables, mergePathJsonSchema, mergePathOf, mergePathSchema, type IdentityPlan } from '../../src/identity';
import { jsonValue } from '../../src/server/context';
import { lookupSql, profileSchema } from '../../src/server/routes/profiles';
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

  test('merge path: edges inside the profile oldest first, the path through shared identifiers, limit rejections, merges', async () => {
    const d = t.warehouse.dialect;
    const plan = { outputSchema: t.schema, stateSchema: t.schema } as IdentityPlan;
    const T = identityTables(plan);
    await t.warehouse.execute(`CREATE TABLE ${d.qualify(T.registry)} (identifier_type VARCHAR(40), identifier_value VARCHAR(200), profile_id VARCHAR(40))`);
    await t.warehouse.execute(`CREATE TABLE ${d.qualify(T.edges)} (a_type VARCHAR(40), a_value VARCHAR(200), b_type VARCHAR(40), b_value VARCHAR(200), source VARCHAR(40), source_priority INTEGER, first_seen TIMESTAMP, last_seen TIMESTAMP)`);
    await t.warehouse.execute(
      `CREATE TABLE ${d.qualify(T.rejections)} (kind VARCHAR(20), reason VARCHAR(100), identifier_type VARCHAR(40), identifier_value VARCHAR(200), other_type VARCHAR(40), other_value VARCHAR(200), sources VARCHAR(100), profile_id VARCHAR(40), other_profile_id VARCHAR(40), first_seen TIMESTAMP)`,
    );
    await t.warehouse.execute(`CREATE TABLE ${d.qualify(T.merges)} (run INTEGER, merged_at TIMESTAMP, kind VARCHAR(10), from_profile_id VARCHAR(40), to_profile_id VARCHAR(40), identifiers INTEGER)`);
    await t.warehouse.execute(
      `INSERT INTO ${d.qualify(T.registry)} VALUES ('email', 'ann@example.com', 'p1'), ('user_id', 'u1', 'p1'), ('anonymous_id', 'a9', 'p1'), ('email', 'bob@example.com', 'p2'), ('device_id', 'd1', 'p2')`,
    );
    await t.warehouse.execute(
      `INSERT INTO ${d.qualify(T.edges)} VALUES ` +
        `('email', 'ann@example.com', 'user_id', 'u1', 'crm', 1, TIMESTAMP '2026-01-01 00:00:00', TIMESTAMP '2026-01-03 00:00:00'), ` +
        `('anonymous_id', 'a9', 'user_id', 'u1', 'web', 2, TIMESTAMP '2026-01-05 00:00:00', TIMESTAMP '2026-01-05 00:00:00'), ` +
        `('email', 'ann@example.com', 'email', 'ann@example.com', 'crm', 1, TIMESTAMP '2026-01-01 00:00:00', TIMESTAMP '2026-01-01 00:00:00'), ` +
        `('device_id', 'd1', 'email', 'bob@example.com', 'web', 2, TIMESTAMP '2026-01-02 00:00:00', TIMESTAMP '2026-01-02 00:00:00')`,
    );
    await t.warehouse.execute(
      `INSERT INTO ${d.qualify(T.rejections)} VALUES ` +
        `('limit', 'limit: email 1', 'email', 'ann@example.com', 'email', 'ann2@example.com', 'crm', 'p1', 'p3', TIMESTAMP '2026-01-04 00:00:00'), ` +
        `('blocked', 'blocked value', 'email', 'test@example.com', NULL, NULL, 'crm', 'p1', NULL, TIMESTAMP '2026-01-04 00:00:00')`,
    );
    await t.warehouse.execute(`INSERT INTO ${d.qualify(T.merges)} VALUES (2, TIMESTAMP '2026-01-05 00:00:00', 'merge', 'p9', 'p1', 1), (3, TIMESTAMP '2026-01-06 00:00:00', 'split', 'p2', 'p8', 1)`);

    const path = await mergePathOf(t.warehouse, plan, 'p1', { type: 'anonymous_id', value: 'a9' });
    expect(path.edges.map((e) => [e.a_value, e.b_value, e.source])).toEqual([
      ['ann@example.com', 'u1', 'crm'],
      ['a9', 'u1', 'web'],
    ]);
    expect(path.edges[0]!.first_seen).toEqual(new Date('2026-01-01T00:00:00Z'));
    // From a9: the older crm edge touches nothing reached yet; a9 reaches u1 (web), and u1 — shared with the crm row — reaches ann.
    expect(path.steps.map((s) => [`${s.joined_via.type}:${s.joined_via.value}`, `${s.identifier.type}:${s.identifier.value}`, s.source])).toEqual([
      ['anonymous_id:a9', 'user_id:u1', 'web'],
      ['user_id:u1', 'email:ann@example.com', 'crm'],
    ]);
    expect(path.steps[1]!.rule).toBe('user_id and email were in one row of source crm');
    expect(path.rejected).toEqual([
      { reason: 'limit: email 1', identifier: { type: 'email', value: 'ann@example.com' }, other: { type: 'email', value: 'ann2@example.com' }, sources: 'crm', profile_id: 'p1', other_profile_id: 'p3', first_seen: new Date('2026-01-04T00:00:00Z') },
    ]);
    expect(path.history).toEqual([{ run: 2, kind: 'merge', from_profile_id: 'p9', to_profile_id: 'p1', merged_at: new Date('2026-01-05T00:00:00Z'), identifiers: 1 }]);
    expect(path.truncated).toBe(false);
    // One schema, two forms of an instant: what mergePathOf returns, and what the API sends.
    expect(mergePathSchema.strict().parse(path)).toEqual(path);
    expect(mergePathJsonSchema.parse(jsonValue(path))).toEqual(jsonValue(path));
    expect(profileSchema.shape.merge_path.unwrap()).toBe(mergePathJsonSchema);

    const single = await mergePathOf(t.warehouse, plan, 'p4', { type: 'email', value: 'solo@example.com' });
    expect(single).toEqual({ edges: [], steps: [], rejected: [], history: [], truncated: false });
  });
});
