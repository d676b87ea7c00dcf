/**
 * The SQL normaliser equals the TypeScript one, value by value, on real DuckDB and
 * PostgreSQL (regex and string macros included): explain and the reference rely on it.
 */
import { blockReasonSql, identifierRules, identitySpecSchema, normalizedSql, normalizeIdentifier } from '../../src/identity';
import { localWarehouseTypes, openTestWarehouse, type TestWarehouse } from '../helpers/test-warehouses';

const spec = identitySpecSchema.parse({
  identifiers: { email: {}, phone: { default_country: 'US' }, phone_gb: { type: 'phone', default_country: 'GB' }, device_id: {}, user_id: {}, loyalty: { type: 'custom', pattern: '^l[0-9]{4}$' } },
  blocked: { values: ['blocked@corp.com'], patterns: ['^bot-'] },
  sources: [{ name: 's', table: 't', identifiers: { email: 'e' } }],
});
const rules = identifierRules(spec);
const samples = [
  '  Ann.Lee@Example.COM ', 'not an email', 'TEST@test.com', 'noreply@shop.com', '', '   ', 'NULL', 'n/a', '0', '-1',
  '+1 415-555-0134', '(415) 555 0134', '415.555.0134', '1-415-555-0134', '0044 20 7946 0958', '020 7946 0958', '07700 900123', '555-0134',
  '0000000000', '1234567890', '+1 000 000 0000', '00000000-0000-0000-0000-000000000000', 'ABC-123', ' U-17 ', 'bot-7', ' L1234 ', 'L12', 'ffff-ffff',
];

describe.each(localWarehouseTypes)('normalisation SQL = TypeScript on %s', (type) => {
  let wh: TestWarehouse;
  beforeAll(async () => {
    wh = await openTestWarehouse(type);
  });
  afterAll(() => wh.cleanup());

  test.each(rules.map((r) => [r.name, r] as const))('%s', async (_name, rule) => {
    const d = wh.warehouse.dialect;
    const values = samples.map((v, i) => `SELECT ${i} AS i, ${d.literal(v)} AS raw`).join(' UNION ALL ');
    const rows = await wh.warehouse.query(
      `SELECT i, n, CASE WHEN n IS NOT NULL THEN ${blockReasonSql(d, rule, 'n')} END AS reason FROM (SELECT i, ${normalizedSql(d, rule, 'raw')} AS n FROM (${values}) AS v) AS x ORDER BY i`,
    );
    const fromSql = rows.map((r) => (r.n === null ? null : r.reason === null ? { status: 'ok', value: r.n } : { status: 'blocked', value: r.n, reason: r.reason }));
    const fromTs = samples.map((v) => {
      const n = normalizeIdentifier(rule, v);
      return n.status === 'absent' || n.status === 'invalid' ? null : n;
    });
    expect(fromSql).toEqual(fromTs);
  });
});
