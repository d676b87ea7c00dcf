/**
 * Materialisation on DuckDB and PostgreSQL: membership tables, the membership history over
 * three runs in which people enter, leave and come back (exact rows), deterministic splits
 * that hold across runs and agree with an independent MD5 bucket, the global holdout that
 * opted-in segments exclude, and priority lists.
 */
import { createHash } from 'node:crypto';
import { runSegments, segmentSize } from '../../src/segments';
import type { Row } from '../../src/warehouse';
import { localWarehouseTypes, openTestWarehouse, type TestWarehouse } from '../helpers/test-warehouses';
import { makeSegmentsWorld, segmentsYml, type SegmentsWorld } from './segments-world';

const RUN = [new Date('2026-06-01T10:00:00Z'), new Date('2026-06-02T10:00:00Z'), new Date('2026-06-03T10:00:00Z')];

const profile = (id: string, score: number | null): Row => ({ profile_id: id, score, tier: null, seen_at: null, active: null, email: `${id}@example.com`, current_account_id: null });

/** Independent of the dialects: the first 8 hex digits of MD5('salt|id'), unsigned, mod 10000. */
const bucket = (salt: string, id: string) => parseInt(createHash('md5').update(`${salt}|${id}`).digest('hex').slice(0, 8), 16) % 10000;

describe.each(localWarehouseTypes)('segments materialised on %s', (type) => {
  let t: TestWarehouse;
  let world: SegmentsWorld;
  const files = {
    high: 'rules: { trait: score, op: gte, value: 5 }\n',
    low: 'rules: { not: { in_segment: high } }\n',
    split: 'rules: { trait: score, op: is_not_null }\nsplits: { a: 45, b: 45, control: 10 }\nexclude_holdout: true\n',
  };
  beforeAll(async () => {
    t = await openTestWarehouse(type);
    world = await makeSegmentsWorld(t.warehouse, t.schema, segmentsYml(t.schema, 'holdout: { percent: 20, salt: hs }\npriority_lists:\n  ladder: [high, split]\n'));
  });
  afterAll(async () => t?.cleanup());

  const history = async () =>
    (await t.warehouse.query(`SELECT segment, profile_id, entered_at, exited_at FROM ${t.warehouse.dialect.qualify({ schema: t.schema, name: 'segment_membership_history' })} WHERE segment = 'high' ORDER BY profile_id, entered_at`)).map((r) => [r.profile_id, r.entered_at, r.exited_at]);
  const members = async (segment: string) => (await t.warehouse.query(`SELECT * FROM ${t.warehouse.dialect.qualify({ schema: t.schema, name: `seg_${segment}` })} ORDER BY profile_id`));

  test('history is exact across three runs with people entering, leaving and coming back', async () => {
    const plan = world.plan(files);
    // Run 1: p1, p2 in high.
    await world.replace('profiles', [profile('p1', 9), profile('p2', 5), profile('p3', 1)]);
    const r1 = await runSegments(t.warehouse, plan, { at: RUN[0] });
    expect(r1.ok).toBe(true);
    expect(r1.results.find((r) => r.segment === 'high')).toMatchObject({ size: 2, entered: 2, exited: 0 });
    // Run 2: p2 leaves, p3 enters.
    await world.replace('profiles', [profile('p1', 9), profile('p2', 2), profile('p3', 7)]);
    const r2 = await runSegments(t.warehouse, plan, { at: RUN[1] });
    expect(r2.results.find((r) => r.segment === 'high')).toMatchObject({ size: 2, entered: 1, exited: 1 });
    // Run 3: p2 comes back (a second row), p1 leaves, p3 stays.
    await world.replace('profiles', [profile('p1', 0), profile('p2', 6), profile('p3', 7)]);
    const r3 = await runSegments(t.warehouse, plan, { at: RUN[2] });
    expect(r3.results.find((r) => r.segment === 'high')).toMatchObject({ size: 2, entered: 1, exited: 1 });

    expect(await history()).toEqual([
      ['p1', RUN[0], RUN[2]],
      ['p2', RUN[0], RUN[1]],
      ['p2', RUN[2], null],
      ['p3', RUN[1], null],
    ]);
    expect((await members('high')).map((r) => r.profile_id)).toEqual(['p2', 'p3']);
    // `low` refers to `high`: its members are everyone else.
    expect((await members('low')).map((r) => r.profile_id)).toEqual(['p1']);
  });

  test('splits are deterministic MD5 buckets, stable across runs; the holdout is left out; priority lists keep the highest', async () => {
    const plan = world.plan(files);
    const people = Array.from({ length: 200 }, (_, i) => profile(`q${i}`, i % 10));
    await world.replace('profiles', people);
    await runSegments(t.warehouse, plan, { at: RUN[0] });
    const first = await members('split');
    await runSegments(t.warehouse, plan, { at: RUN[1] });
    const second = await members('split');
    expect(second.map((r) => [r.profile_id, r.split_group])).toEqual(first.map((r) => [r.profile_id, r.split_group]));

    const outside = people.filter((p) => bucket('hs', String(p.profile_id)) >= 2000);
    expect(first.map((r) => r.profile_id).sort()).toEqual(outside.map((p) => p.profile_id).sort());
    const expectedGroup = (id: string) => {
      const b = bucket('split', id);
      return b < 4500 ? 'a' : b < 9000 ? 'b' : 'control';
    };
    for (const r of first) expect([r.profile_id, r.split_group]).toEqual([r.profile_id, expectedGroup(String(r.profile_id))]);
    expect(new Set(first.map((r) => r.split_group))).toEqual(new Set(['a', 'b', 'control']));

    const size = await segmentSize(t.warehouse, plan, 'split');
    expect(size.steps.map((s) => s.count)).toEqual([200, 200, outside.length]);
    expect(size.size).toBe(outside.length);

    const ladder = await t.warehouse.query(`SELECT profile_id, segment FROM ${t.warehouse.dialect.qualify({ schema: t.schema, name: 'segment_priority_ladder' })} ORDER BY profile_id`);
    const high = new Set(people.filter((p) => Number(p.score) >= 5).map((p) => p.profile_id));
    const inSplit = new Set(outside.map((p) => p.profile_id));
    const expected = people
      .map((p) => String(p.profile_id))
      .filter((id) => high.has(id) || inSplit.has(id))
      .sort()
      .map((id) => ({ profile_id: id, segment: high.has(id) ? 'high' : 'split' }));
    expect(ladder).toEqual(expected);
  });
});
