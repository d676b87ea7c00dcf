/** The TypeScript normaliser (explain, reference): email, phone to E.164, custom, blocks. */
import { blockReasonSql, identifierRules, identitySpecSchema, normalizedSql, normalizeIdentifier } from '../../src/identity';
import { dialectFor } from '../../src/warehouse';

const spec = identitySpecSchema.parse({
  identifiers: {
    email: {},
    phone: { default_country: 'US' },
    phone_gb: { type: 'phone', default_country: 'GB' },
    device_id: {},
    user_id: {},
    loyalty: { type: 'custom', pattern: '^l[0-9]{4}$' },
  },
  blocked: { values: ['blocked@corp.com'], patterns: ['^bot-'] },
  sources: [{ name: 's', table: 't', identifiers: { email: 'e' } }],
});
const rules = identifierRules(spec);
const rule = (name: string) => rules.find((r) => r.name === name)!;
const norm = (name: string, raw: string | null) => normalizeIdentifier(rule(name), raw);

describe('normalizeIdentifier', () => {
  test.each([
    ['email', '  Ann.Lee@Example.COM ', { status: 'ok', value: 'ann.lee@example.com' }],
    ['email', 'not an email', { status: 'invalid' }],
    ['email', 'TEST@test.com', { status: 'blocked', value: 'test@test.com', reason: 'blocked value' }],
    ['email', 'Blocked@Corp.com', { status: 'blocked', value: 'blocked@corp.com', reason: 'blocked value' }],
    ['email', '   ', { status: 'absent' }],
    ['email', null, { status: 'absent' }],
    ['phone', '+1 415-555-0134', { status: 'ok', value: '+14155550134' }],
    ['phone', '(415) 555 0134', { status: 'ok', value: '+14155550134' }],
    ['phone', '415.555.0134', { status: 'ok', value: '+14155550134' }],
    ['phone', '1-415-555-0134', { status: 'ok', value: '+14155550134' }],
    ['phone', '0044 20 7946 0958', { status: 'ok', value: '+442079460958' }],
    ['phone', '555-0134', { status: 'invalid' }],
    ['phone', '(415) 000-0000', { status: 'ok', value: '+14150000000' }],
    ['phone', '+1 000 000 0000', { status: 'blocked', value: '+10000000000', reason: 'blocked pattern ^\\+[0-9]{1,3}0{6,}$' }],
    ['phone', '0000000000', { status: 'blocked', value: '+00000000', reason: 'blocked pattern ^\\+[0-9]{1,3}0{6,}$' }],
    ['phone_gb', '020 7946 0958', { status: 'ok', value: '+442079460958' }],
    ['phone_gb', '07700 900123', { status: 'ok', value: '+447700900123' }],
    ['device_id', '00000000-0000-0000-0000-000000000000', { status: 'blocked', value: '00000000-0000-0000-0000-000000000000', reason: 'blocked value' }],
    ['device_id', 'ABC-123', { status: 'ok', value: 'abc-123' }],
    ['user_id', ' U-17 ', { status: 'ok', value: 'U-17' }],
    ['user_id', 'NULL', { status: 'blocked', value: 'NULL', reason: 'blocked value' }],
    ['user_id', 'bot-7', { status: 'blocked', value: 'bot-7', reason: 'blocked pattern ^bot-' }],
    ['loyalty', ' L1234 ', { status: 'ok', value: 'l1234' }],
    ['loyalty', 'L12', { status: 'invalid' }],
  ])('%s %j', (name, raw, expected) => {
    expect(norm(name, raw)).toEqual(expected);
  });
});

describe('normalisation SQL on every dialect', () => {
  test.each([
    ['duckdb', "regexp_replace(", 'regexp_matches(x, '],
    ['postgres', "regexp_replace(", '(x ~ '],
    ['bigquery', 'REGEXP_REPLACE(', 'REGEXP_CONTAINS(x, '],
    ['snowflake', 'REGEXP_REPLACE(', '(REGEXP_INSTR(x, '],
  ] as const)('%s uses its own regex functions', (type, replace, match) => {
    const d = dialectFor(type);
    expect(normalizedSql(d, rule('phone'), 'x')).toContain(replace);
    expect(blockReasonSql(d, rule('user_id'), 'x')).toContain(match);
  });
});
