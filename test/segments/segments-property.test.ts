/**
 * Property: on random data and random rule trees, the compiled SQL (run on DuckDB and on
 * PostgreSQL) selects exactly the profiles the in-memory reference evaluator selects.
 */
import fc from 'fast-check';
import { membersSql, type Rule } from '../../src/segments';
import type { Row } from '../../src/warehouse';
import { localWarehouseTypes, openTestWarehouse, type TestWarehouse } from '../helpers/test-warehouses';
import { evaluate, type RefData } from './reference-evaluator';
import { AS_OF, makeSegmentsWorld, type SegmentsWorld } from './segments-world';

const HOUR = 3600e3;
const HELPER: Rule = { trait: 'score', op: 'gte', value: 5 };

const nullable = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null, freq: 4 });
const agoDate = fc.integer({ min: 0, max: 24 * 60 }).map((h) => new Date(AS_OF.getTime() - h * HOUR));

const dataArb: fc.Arbitrary<RefData> = fc.integer({ min: 1, max: 18 }).chain((n) => {
  const ids = Array.from({ length: n }, (_, i) => `p${i}`);
  const accountIds = ['a0', 'a1', 'a2'];
  return fc
    .record({
      profiles: fc.tuple(...ids.map((id) =>
        fc.record({
          profile_id: fc.constant(id),
          score: nullable(fc.integer({ min: 0, max: 10 })),
          tier: nullable(fc.constantFrom('gold', 'silver', 'bronze')),
          seen_at: nullable(agoDate),
          active: nullable(fc.boolean()),
          current_account_id: nullable(fc.constantFrom(...accountIds)),
        }),
      )),
      accounts: fc.tuple(...accountIds.map((id) => fc.record({ account_id: fc.constant(id), size: nullable(fc.integer({ min: 1, max: 500 })), industry: nullable(fc.constantFrom('Retail', 'Tech')) }))),
      extraMemberships: fc.array(fc.record({ profile_id: fc.constantFrom(...ids), account_id: fc.constantFrom(...accountIds), is_current: fc.boolean() }), { maxLength: 6 }),
      events: fc.array(
        fc.record({
          // u99 has no profile: its events must count for nobody.
          user_id: fc.constantFrom(...ids.map((_, i) => `u${i}`), 'u99'),
          event_type: fc.constantFrom('view', 'cart', 'buy'),
          amount: nullable(fc.integer({ min: 0, max: 100 })),
          channel: nullable(fc.constantFrom('web', 'app')),
          occurred_at: agoDate,
        }),
        { maxLength: 40 },
      ),
    })
    .map(({ profiles, accounts, extraMemberships, events }) => ({
      profiles,
      accounts,
      memberships: [
        ...profiles.filter((p) => p.current_account_id !== null).map((p) => ({ profile_id: p.profile_id, account_id: p.current_account_id!, is_current: true })),
        ...extraMemberships,
      ],
      events,
      graph: new Map(ids.map((id, i) => [`u${i}`, id])),
    }));
});

const unit = fc.constantFrom('hour', 'day', 'week');
const numberCmp = (field: string, key: 'trait' | 'account_trait', lo: number, hi: number): fc.Arbitrary<Rule> => {
  const v = fc.integer({ min: lo, max: hi });
  return fc.oneof(
    fc.record({ op: fc.constantFrom('eq', 'neq', 'gt', 'gte', 'lt', 'lte'), value: v }),
    fc.record({ op: fc.constant('between'), value: fc.tuple(v, v).map(([a, b]) => [Math.min(a, b), Math.max(a, b)]) }),
    fc.record({ op: fc.constantFrom('in', 'not_in'), value: fc.array(v, { minLength: 1, maxLength: 3 }) }),
    fc.record({ op: fc.constantFrom('is_null', 'is_not_null') }),
  ).map((c) => ({ [key]: field, ...c }) as Rule);
};
const stringCmp = (field: string, key: 'trait' | 'account_trait', values: string[]): fc.Arbitrary<Rule> =>
  fc.oneof(
    fc.record({ op: fc.constantFrom('eq', 'neq', 'contains', 'starts_with'), value: fc.constantFrom(...values, 'il', 'go', 'Re') }),
    fc.record({ op: fc.constantFrom('in', 'not_in'), value: fc.subarray(values, { minLength: 1 }) }),
    fc.record({ op: fc.constantFrom('is_null', 'is_not_null') }),
  ).map((c) => ({ [key]: field, ...c }) as Rule);
const timeCmp: fc.Arbitrary<Rule> = fc.oneof(
  fc.record({ op: fc.constantFrom('within_last', 'not_within_last'), value: fc.integer({ min: 1, max: 40 }), unit }),
  fc.record({ op: fc.constant('between_ago'), value: fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 30 })).map(([a, b]) => [Math.min(a, b), Math.max(a, b)]), unit }),
  fc.record({ op: fc.constantFrom('gt', 'lte'), value: agoDate.map((d) => d.toISOString()) }),
).map((c) => ({ trait: 'seen_at', ...c }) as Rule);

const eventRule: fc.Arbitrary<Rule> = fc
  .record(
    {
      event: fc.constantFrom('view', 'cart', 'buy'),
      where: fc.oneof(
        fc.constant([]),
        fc.constant([{ property: 'channel', op: 'eq', value: 'web' }]),
        fc.integer({ min: 0, max: 100 }).map((x) => [{ property: 'amount', op: 'gte', value: x }]),
      ),
      times: fc.oneof(
        fc.integer({ min: 0, max: 3 }).map((x) => ({ at_least: x })),
        fc.integer({ min: 0, max: 2 }).map((x) => ({ at_most: x })),
        fc.integer({ min: 0, max: 2 }).map((x) => ({ exactly: x })),
      ),
      within: fc.record({ last: fc.integer({ min: 1, max: 40 }), unit }),
      aggregate: fc.record({ fn: fc.constantFrom('sum', 'avg', 'min', 'max', 'count'), property: fc.constant('amount'), op: fc.constantFrom('gte', 'lt'), value: fc.integer({ min: 0, max: 150 }) }),
    },
    { requiredKeys: ['event', 'where'] },
  )
  .map((r) => r as Rule);

const leaf: fc.Arbitrary<Rule> = fc.oneof(
  numberCmp('score', 'trait', 0, 10),
  stringCmp('tier', 'trait', ['gold', 'silver', 'bronze']),
  timeCmp,
  fc.oneof(fc.record({ trait: fc.constant('active'), op: fc.constantFrom('eq', 'neq'), value: fc.boolean() }), fc.constant({ trait: 'active', op: 'is_null' })).map((r) => r as Rule),
  numberCmp('size', 'account_trait', 1, 500),
  stringCmp('industry', 'account_trait', ['Retail', 'Tech']),
  eventRule,
  eventRule,
  fc.constant({ in_segment: 'helper' } as Rule),
  fc.constant({ sql: 'p.score > 3' } as Rule),
);

const ruleArb: fc.Arbitrary<Rule> = fc.letrec<{ rule: Rule }>((tie) => ({
  rule: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('rule'), { minLength: 1, maxLength: 3 }).map((all) => ({ all })),
    fc.array(tie('rule'), { minLength: 1, maxLength: 3 }).map((any) => ({ any })),
    tie('rule').map((not) => ({ not })),
    fc.record({ at_least: fc.integer({ min: 1, max: 3 }), where: leaf }).map((account_members) => ({ account_members })),
  ),
})).rule;

async function load(world: SegmentsWorld, data: RefData): Promise<void> {
  await world.replace('profiles', data.profiles.map((p) => ({ ...p, email: `${p.profile_id}@example.com` })));
  await world.replace('accounts', data.accounts as unknown as Row[]);
  await world.replace('account_memberships', data.memberships as unknown as Row[]);
  await world.replace('identity_graph', [...data.graph].map(([u, p]) => ({ identifier_type: 'user_id', identifier_value: u, profile_id: p })));
  await world.replace('events', data.events as unknown as Row[]);
}

describe.each(localWarehouseTypes)('rule trees on %s match the in-memory evaluator', (type) => {
  let t: TestWarehouse;
  let world: SegmentsWorld;
  beforeAll(async () => {
    t = await openTestWarehouse(type);
    world = await makeSegmentsWorld(t.warehouse, t.schema);
  });
  afterAll(async () => t?.cleanup());

  test('random data, random rules', async () => {
    await fc.assert(
      fc.asyncProperty(dataArb, fc.array(ruleArb, { minLength: 1, maxLength: 4 }), async (data, rules) => {
        await load(world, data);
        for (const rule of rules) {
          const plan = world.plan({ helper: JSON.stringify({ rules: HELPER }), r: JSON.stringify({ rules: rule }) });
          const rows = await t.warehouse.query(`SELECT m.profile_id FROM (\n${membersSql(plan, plan.byName.get('r')!)}) AS m`);
          const got = rows.map((r) => String(r.profile_id)).sort();
          const want = [...evaluate(rule, data, AS_OF, { helper: HELPER })].sort();
          expect({ rule, got }).toEqual({ rule, got: want });
        }
      }),
      { numRuns: type === 'duckdb' ? 60 : 40, seed: type === 'duckdb' ? 4242 : 777 },
    );
  }, 60_000);
});
