/**
 * Identity resolution end to end on real DuckDB and PostgreSQL: normalisation and blocked
 * values, limits with their audit trail, traits by rule, B2B job changes, and the outputs
 * the CLI reads.
 */
import type { Column } from '../../src/warehouse';
import { localWarehouseTypes, openTestWarehouse, type TestWarehouse } from '../helpers/test-warehouses';
import { makeIdentityWorld, ts, type IdentityWorld } from './identity-harness';

const s = (name: string): Column => ({ name, type: 'string' });
const t = (name: string): Column => ({ name, type: 'timestamp' });
const i = (name: string): Column => ({ name, type: 'integer' });

const tables = {
  app_users: [s('user_id'), s('email'), s('phone'), s('first_name'), t('created_at')],
  crm: [s('contact_id'), s('email'), s('phone'), s('first_name'), s('city'), t('updated_at')],
  web: [s('anonymous_id'), s('user_id'), t('occurred_at')],
  app_events: [s('device_id'), s('user_id'), t('occurred_at')],
  events: [s('user_id'), s('city'), i('score'), s('tag'), t('occurred_at')],
  companies: [s('company_id'), s('domain'), s('name')],
  memberships: [s('email'), s('company_id'), t('started_at'), t('ended_at')],
};

const identityYml = `identifiers:
  user_id: { limit: 1 }
  crm_id: {}
  email: { limit: 2 }
  phone: { default_country: US }
  device_id: {}
  anonymous_id: {}
sources:
  - { name: app_users, source: raw.app_users, identifiers: { user_id: user_id, email: email, phone: phone }, timestamp: created_at, traits: { first_name: first_name } }
  - { name: crm, source: raw.crm, identifiers: { crm_id: contact_id, email: email, phone: phone }, timestamp: updated_at, traits: { first_name: first_name, city_latest: city } }
  - { name: web, source: raw.web, identifiers: { anonymous_id: anonymous_id, user_id: user_id }, timestamp: occurred_at }
  - { name: app, source: raw.app_events, identifiers: { device_id: device_id, user_id: user_id }, timestamp: occurred_at }
  - name: events
    source: raw.events
    identifiers: { user_id: user_id }
    timestamp: occurred_at
    traits: { city_latest: city, city_first: city, score_max: score, score_min: score, score_sum: score, score_count: score, tags: tag }
traits:
  first_name: { rule: source_priority }
  city_latest: { rule: latest }
  city_first: { rule: first }
  score_max: { rule: max, type: integer }
  score_min: { rule: min, type: integer }
  score_sum: { rule: sum, type: integer }
  score_count: { rule: count, type: integer }
  tags: { rule: distinct_list }
accounts: { source: raw.companies, key: company_id, domain: domain, traits: { name: name } }
memberships: { source: raw.memberships, identifier: email, column: email, account_key: company_id, valid_from: started_at, valid_to: ended_at }
`;

describe.each(localWarehouseTypes)('identity run on %s', (type) => {
  let wh: TestWarehouse;
  let world: IdentityWorld;
  beforeAll(async () => {
    wh = await openTestWarehouse(type);
    world = await makeIdentityWorld(wh.warehouse, wh.schema, wh.schema, tables, identityYml);
    await world.insert('app_users', [
      { user_id: 'u1', email: ' Ann@Example.COM ', phone: '(415) 555-0134', first_name: 'Ann', created_at: ts('2024-01-01') },
      { user_id: 'u2', email: 'bob@example.com', phone: null, first_name: 'Bob', created_at: ts('2024-01-02') },
    ]);
    await world.insert('crm', [
      { contact_id: 'c1', email: 'ann@example.com', phone: '+1 415-555-0134', first_name: 'Annie', city: 'Oslo', updated_at: ts('2024-02-01') },
      { contact_id: 'c2', email: 'test@test.com', phone: '0000000000', first_name: 'Test', city: null, updated_at: ts('2024-02-02') },
      { contact_id: 'c3', email: 'NULL', phone: null, first_name: 'Carl', city: null, updated_at: ts('2024-02-03') },
      { contact_id: 'c4', email: 'null', phone: null, first_name: 'Dora', city: null, updated_at: ts('2024-02-04') },
      { contact_id: 'c5', email: 'not-an-email', phone: null, first_name: 'Eve', city: null, updated_at: ts('2024-02-05') },
      { contact_id: 'c6', email: ' TEST@TEST.COM', phone: null, first_name: 'Fay', city: null, updated_at: ts('2024-02-06') },
    ]);
    await world.insert('web', [
      { anonymous_id: 'a1', user_id: null, occurred_at: ts('2023-12-01') },
      { anonymous_id: 'a1', user_id: 'u1', occurred_at: ts('2024-01-05') },
      { anonymous_id: 'anonymous', user_id: 'u2', occurred_at: ts('2024-01-06') },
    ]);
    // One phone shared by two logins: the device goes with the earlier one, the other edge is rejected.
    await world.insert('app_events', [
      { device_id: 'D1', user_id: 'u1', occurred_at: ts('2024-03-01') },
      { device_id: 'd1', user_id: 'u2', occurred_at: ts('2024-03-02') },
    ]);
    await world.insert('events', [
      { user_id: 'u1', city: 'Bergen', score: 5, tag: 'vip', occurred_at: ts('2024-04-01') },
      { user_id: 'u1', city: 'Paris', score: 7, tag: 'b2b', occurred_at: ts('2024-05-01') },
      { user_id: 'u1', city: null, score: null, tag: 'vip', occurred_at: ts('2024-06-01') },
    ]);
    await world.insert('companies', [
      { company_id: 'co1', domain: 'https://www.Acme.com/about', name: 'Acme' },
      { company_id: 'co2', domain: 'globex.io', name: 'Globex' },
    ]);
    await world.insert('memberships', [
      { email: 'ann@example.com', company_id: 'co1', started_at: ts('2020-01-01'), ended_at: ts('2022-06-30') },
      { email: 'ANN@example.com ', company_id: 'co2', started_at: ts('2022-07-01'), ended_at: null },
      { email: 'nobody@example.com', company_id: 'co2', started_at: ts('2022-07-01'), ended_at: null },
    ]);
    await world.run();
  });
  afterAll(() => wh.cleanup());

  test('one profile per person across sources, normalised; junk glues nobody', async () => {
    const partition = await world.partition();
    expect(partition).toEqual([
      ['anonymous_id:a1', 'crm_id:c1', 'device_id:d1', 'email:ann@example.com', 'phone:+14155550134', 'user_id:u1'],
      ['crm_id:c2'],
      ['crm_id:c3'],
      ['crm_id:c4'],
      ['crm_id:c5'],
      ['crm_id:c6'],
      ['email:bob@example.com', 'user_id:u2'],
    ]);
  });

  test('blocked, invalid and limit-rejected values are recorded with the reason', async () => {
    const rejections = await world.rows('identity_rejections', 'kind, identifier_type, identifier_value');
    const brief = rejections.map((r) => [r.kind, r.identifier_type, r.identifier_value, r.reason]);
    expect(brief).toEqual(
      expect.arrayContaining([
        ['blocked', 'email', 'test@test.com', 'blocked value'],
        ['invalid', 'email', 'null', 'invalid'],
        ['invalid', 'email', 'NULL', 'invalid'],
        ['blocked', 'phone', '+00000000', 'blocked pattern ^\\+[0-9]{1,3}0{6,}$'],
        ['blocked', 'anonymous_id', 'anonymous', 'blocked value'],
        ['invalid', 'email', 'not-an-email', 'invalid'],
      ]),
    );
    const junk = rejections.find((r) => r.identifier_value === 'test@test.com');
    expect(Number(junk?.occurrences)).toBe(2);
    const limit = rejections.filter((r) => r.kind === 'limit');
    expect(limit).toHaveLength(1);
    expect(limit[0]).toMatchObject({ identifier_type: 'device_id', identifier_value: 'd1', other_type: 'user_id', other_value: 'u2', reason: 'limit user_id: at most 1 per profile', sources: 'app' });
    expect(limit[0].profile_id).toBe(await world.profileOf('user_id:u1'));
    expect(limit[0].other_profile_id).toBe(await world.profileOf('user_id:u2'));
  });

  test('identity_graph says when and where each identifier was seen', async () => {
    const graph = await world.rows('identity_graph', 'identifier_type, identifier_value');
    const email = graph.find((r) => r.identifier_value === 'ann@example.com')!;
    expect(email.sources).toBe('app_users,crm');
    expect(email.first_seen).toEqual(ts('2024-01-01'));
    expect(email.last_seen).toEqual(ts('2024-02-01'));
  });

  test('traits merge by their rules', async () => {
    const ann = await world.profileOf('user_id:u1');
    const [p] = (await world.rows('profiles')).filter((r) => r.profile_id === ann);
    expect(p).toMatchObject({
      first_name: 'Ann', // app_users is the first source
      city_latest: 'Paris', // the newest non-null (events 2024-05 beats crm 2024-02 and the later null)
      city_first: 'Bergen', // crm maps city to city_latest only
      score_max: 7,
      score_min: 5,
      score_sum: 12,
      score_count: 2,
      tags: 'b2b, vip',
      identifier_count: 6,
      current_account_id: 'co2',
    });
  });

  test('B2B: a job change keeps one profile with both memberships; accounts count members', async () => {
    const ann = await world.profileOf('email:ann@example.com');
    const memberships = await world.rows('account_memberships', 'valid_from');
    expect(memberships.map((m) => [m.profile_id, m.account_id, m.is_current])).toEqual([
      [ann, 'co1', false],
      [ann, 'co2', true],
    ]);
    const accounts = await world.rows('accounts', 'account_id');
    expect(accounts.map((a) => [a.account_id, a.domain, a.name, Number(a.members), Number(a.current_members)])).toEqual([
      ['co1', 'acme.com', 'Acme', 1, 0],
      ['co2', 'globex.io', 'Globex', 1, 1],
    ]);
  });
});
