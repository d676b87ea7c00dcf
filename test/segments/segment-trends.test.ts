/**
 * Each segment's size over its last builds, read from segment_membership_history alone in
 * one statement (stamps +1 at entered_at, −1 at exited_at, accumulated per segment in time
 * order), on DuckDB and PostgreSQL: oldest first, capped to the newest N, a build that changed
 * nobody adds no point, and nothing at all before the first build.
 */
import { segmentTrends, type SegmentsPlan } from '../../src/segments';
import type { TableRef } from '../../src/warehouse';
import { localWarehouseTypes, openTestWarehouse, type TestWarehouse } from '../helpers/test-warehouses';

describe.each(localWarehouseTypes)('segment trends on %s', (type) => {
  let t: TestWarehouse;
  let history: TableRef;
  let plan: SegmentsPlan;
  const at = (day: number) => `TIMESTAMP '2026-01-0${day} 00:00:00'`;

  beforeAll(async () => {
    t = await openTestWarehouse(type);
    history = { schema: t.schema, name: 'segment_membership_history' };
    // segmentTrends reads only where the history is.
    plan = { tables: { history } } as unknown as SegmentsPlan;
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  test('no history table (never built): no trend', async () => {
    expect(await segmentTrends(t.warehouse, plan)).toEqual(new Map());
  });

  test('the size right after each build, oldest first; the newest N only', async () => {
    const d = t.warehouse.dialect;
    await t.warehouse.execute(`CREATE TABLE ${d.qualify(history)} (segment VARCHAR(40), profile_id VARCHAR(40), entered_at TIMESTAMP, exited_at TIMESTAMP)`);
    // vip: build 1 → p1 p2 p3; build 2 → p2 left, p4 p5 came (4); build 3 → changed nobody; build 4 → p1 left, p2 came back (4).
    // lapsed: build 1 → p9; build 2 → p9 left (0).
    await t.warehouse.execute(
      `INSERT INTO ${d.qualify(history)} VALUES ` +
        [
          `('vip', 'p1', ${at(1)}, ${at(4)})`,
          `('vip', 'p2', ${at(1)}, ${at(2)})`,
          `('vip', 'p3', ${at(1)}, NULL)`,
          `('vip', 'p4', ${at(2)}, NULL)`,
          `('vip', 'p5', ${at(2)}, NULL)`,
          `('vip', 'p2', ${at(4)}, NULL)`,
          `('lapsed', 'p9', ${at(1)}, ${at(2)})`,
        ].join(', '),
    );
    const day = (n: number) => new Date(Date.UTC(2026, 0, n));
    const trends = await segmentTrends(t.warehouse, plan);
    expect([...trends.keys()].sort()).toEqual(['lapsed', 'vip']);
    expect(trends.get('vip')).toEqual([
      { at: day(1), members: 3 },
      { at: day(2), members: 4 },
      { at: day(4), members: 4 },
    ]);
    expect(trends.get('lapsed')).toEqual([
      { at: day(1), members: 1 },
      { at: day(2), members: 0 },
    ]);
    expect((await segmentTrends(t.warehouse, plan, 2)).get('vip')).toEqual([
      { at: day(2), members: 4 },
      { at: day(4), members: 4 },
    ]);
  });
});
