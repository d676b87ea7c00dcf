/**
 * Property: on random graphs (chains, stars, duplicates, self-loops, blocked values, ties
 * in time) the partition the warehouse computes — with limits — equals the in-memory
 * reference of the same rules (reference.ts), on DuckDB and PostgreSQL, for the SQL
 * components path and the in-process one.
 */
import fc from 'fast-check';
import type { Column, Row } from '../../src/warehouse';
import { localWarehouseTypes, openTestWarehouse, type TestWarehouse } from '../helpers/test-warehouses';
import { makeIdentityWorld, type IdentityWorld } from './identity-harness';
import { referencePartition } from './reference';

const s = (name: string): Column => ({ name, type: 'string' });
const t = (name: string): Column => ({ name, type: 'timestamp' });
const tables = {
  logins: [s('user_id'), s('email'), s('device_id'), t('seen_at')],
  visits: [s('email'), s('anonymous_id'), t('seen_at')],
};
const identityYml = `identifiers:
  user_id: { limit: 1 }
  email: { limit: 2 }
  device_id: {}
  anonymous_id: {}
sources:
  - { name: logins, source: raw.logins, identifiers: { user_id: user_id, email: email, device_id: device_id }, timestamp: seen_at }
  - { name: visits, source: raw.visits, identifiers: { email: email, anonymous_id: anonymous_id }, timestamp: seen_at }
`;

const pick = (prefix: string, n: number, junk: string[]) => fc.option(fc.oneof(fc.nat(n - 1).map((i) => `${prefix}${i}`), fc.constantFrom(...junk)), { nil: null, freq: 3 });
const time = fc.option(fc.nat(5).map((d) => new Date(Date.UTC(2024, 0, 1 + d))), { nil: null, freq: 6 });
const login = fc.record({ user_id: pick('u', 4, ['null']), email: pick('e', 5, ['test@test.com', 'E0 ']).map((e) => (e && !e.includes('@') && e !== 'null' ? `${e.trim()}@x.io` : e)), device_id: pick('d', 3, ['0000']), seen_at: time });
const visit = fc.record({ email: pick('e', 5, ['']).map((e) => (e ? `${e}@x.io` : e)), anonymous_id: pick('a', 6, ['anonymous']), seen_at: time });
/** A long chain of visits: e_i — a_i — e_{i+1} … (diameter grows with n). */
const chain = (n: number): Row[] => Array.from({ length: n }, (_, i) => [{ email: `c${i}@x.io`, anonymous_id: `ca${i}`, seen_at: null }, { email: `c${i + 1}@x.io`, anonymous_id: `ca${i}`, seen_at: null }]).flat();

describe.each(localWarehouseTypes)('identity partition = reference on %s', (type) => {
  let wh: TestWarehouse;
  let world: IdentityWorld;
  beforeAll(async () => {
    wh = await openTestWarehouse(type);
    world = await makeIdentityWorld(wh.warehouse, wh.schema, wh.schema, tables, identityYml);
  });
  afterAll(() => wh.cleanup());

  const check = async (logins: Row[], visits: Row[], strategy: 'sql' | 'in-process') => {
    const d = wh.warehouse.dialect;
    await wh.warehouse.executeAll(['logins', 'visits'].map((n) => `DELETE FROM ${d.qualify({ schema: wh.schema, name: n })}`));
    if (logins.length) await world.insert('logins', logins);
    if (visits.length) await world.insert('visits', visits);
    await world.run({ fullRefresh: true, strategy });
    const expected = referencePartition(world.plan.rules, [
      { name: 'logins', priority: 0, identifiers: { user_id: 'user_id', email: 'email', device_id: 'device_id' }, timestamp: 'seen_at', rows: logins },
      { name: 'visits', priority: 1, identifiers: { email: 'email', anonymous_id: 'anonymous_id' }, timestamp: 'seen_at', rows: visits },
    ]);
    expect(await world.partition()).toEqual(expected);
  };

  test('random graphs with limits', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(login, { maxLength: 14 }), fc.array(visit, { maxLength: 14 }), fc.constantFrom<'sql' | 'in-process'>('sql', 'in-process'), async (logins, visits, strategy) => {
        await check(logins, visits, strategy);
      }),
      { numRuns: 12, seed: 20260101 },
    );
  });

  test('a long chain, a star on one shared email and a shared device', async () => {
    const star = Array.from({ length: 12 }, (_, i) => ({ email: 'family@x.io', anonymous_id: `s${i}`, seen_at: null }));
    const device = Array.from({ length: 4 }, (_, i) => ({ user_id: `du${i}`, email: null, device_id: 'shared-device', seen_at: new Date(Date.UTC(2024, 1, 1 + i)) }));
    await check(device, [...chain(40), ...star], 'sql');
    const partition = await world.partition();
    // The email limit (2) cuts the chain every second email; the shared email keeps its star.
    expect(partition.find((c) => c.includes('email:c0@x.io'))).toEqual(['anonymous_id:ca0', 'anonymous_id:ca1', 'email:c0@x.io', 'email:c1@x.io']);
    for (const cluster of partition) expect(cluster.filter((k) => k.startsWith('email:')).length).toBeLessThanOrEqual(2);
    expect(partition.find((c) => c.includes('email:family@x.io'))).toHaveLength(13);
    expect(partition.filter((c) => c.some((k) => k.startsWith('user_id:du')))).toHaveLength(4);
  });
});
