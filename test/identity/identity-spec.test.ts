/**
 * identity.yml: validation errors name the file and line and say how to fix; rules are
 * resolved (kinds, priority ranks, default block lists, limits).
 */
import { loadIdentityPlan } from '../../src/identity';
import { isCdpError } from '../../src/errors';
import { loadProject } from '../../src/project';
import { dialectFor } from '../../src/warehouse';
import { makeProject, minimalCdpYml } from '../helpers/project-fixture';

function planFor(identityYml: string) {
  const fixture = makeProject({ 'cdp.yml': minimalCdpYml, 'identity.yml': identityYml, 'models/stg_contacts.sql': 'select 1 as id' });
  try {
    return loadIdentityPlan(loadProject(fixture.dir, {}), dialectFor('duckdb'), {});
  } finally {
    fixture.remove();
  }
}

function errorOf(identityYml: string): string {
  try {
    planFor(identityYml);
  } catch (error) {
    if (isCdpError(error)) return error.toLine();
    throw error;
  }
  throw new Error('expected an error');
}

const valid = `identifiers:
  email: { limit: 5 }
  user_id: { limit: 1 }
  phone: { default_country: GB }
  loyalty: { type: custom, pattern: '^l[0-9]+$' }
priority: [user_id, email, phone, loyalty]
sources:
  - name: contacts
    source: raw.contacts
    identifiers: { email: email, user_id: uid, phone: phone }
    timestamp: updated_at
    traits: { first_name: fname }
  - name: stg
    model: stg_contacts
    identifiers: { loyalty: card }
traits:
  first_name: { rule: latest }
`;

describe('identity.yml', () => {
  test('a valid file resolves into rules, sources and refs', () => {
    const plan = planFor(valid);
    expect(plan.rules.map((r) => [r.name, r.kind, r.rank, r.limit])).toEqual([
      ['user_id', 'user_id', 0, 1],
      ['email', 'email', 1, 5],
      ['phone', 'phone', 2, undefined],
      ['loyalty', 'custom', 3, undefined],
    ]);
    expect(plan.rules.find((r) => r.name === 'email')!.blockedValues).toContain('test@test.com');
    expect(plan.rules.find((r) => r.name === 'phone')!.phone).toMatchObject({ code: '44' });
    expect(plan.sources[0]).toMatchObject({ name: 'contacts', priority: 0, ref: { schema: 'raw', name: 'contacts' } });
    // The anchor order follows identifier priority, not the order columns were written in.
    expect(plan.sources[0].identifiers.map((i) => i.rule.name)).toEqual(['user_id', 'email', 'phone']);
    expect(plan.sources[1].ref).toEqual({ schema: 'analytics', name: 'stg_contacts' });
    expect(plan.outputSchema).toBe('analytics');
    expect(plan.stateSchema).toBe('cdp_state');
  });

  test.each([
    ['an unknown key', valid.replace('priority:', 'priorty:'), /^identity\.yml:6: unknown key 'priorty' — remove it or check the spelling$/],
    ['an undeclared identifier in a source', valid.replace('{ loyalty: card }', '{ loyalty: card, fax: fax }'), /^identity\.yml:15: sources\.1\.identifiers\.fax: unknown identifier 'fax' — declare it under identifiers: \(email, user_id, phone, loyalty\)$/],
    ['an unknown model', valid.replace('model: stg_contacts', 'model: stg_contactz'), /^identity\.yml:14: sources\.1\.model: unknown model 'stg_contactz' — check models\//],
    ['an unknown source table', valid.replace('raw.contacts', 'raw.contactz'), /^identity\.yml:9: sources\.0\.source: unknown source 'raw\.contactz' — declare it under sources: in cdp\.yml$/],
    ['a bad limit', valid.replace('limit: 5', 'limit: -2'), /^identity\.yml:2: identifiers\.email\.limit: /],
    ['an unknown trait rule', valid.replace('rule: latest', 'rule: newest'), /^identity\.yml:17: traits\.first_name\.rule: must be one of latest, first, source_priority, max, min, sum, count, distinct_list/],
    ['a trait without a declaration', valid.replace('{ first_name: fname }', '{ nickname: nick }'), /^identity\.yml:12: sources\.0\.traits\.nickname: unknown trait 'nickname' — declare it under traits:/],
    ['a broken regex', valid.replace("'^l[0-9]+$'", () => "'^l[0-9+$'"), /^identity\.yml:5: identifiers\.loyalty\.pattern: is not a valid regular expression — check brackets and escapes$/],
    ['two relations in one source', valid.replace('    model: stg_contacts', '    model: stg_contacts\n    table: x'), /^identity\.yml:13: sources\.1: must read exactly one of model, source or table/],
    ['a country without a calling code', valid.replace('default_country: GB', 'default_country: ZZ'), /^identity\.yml: identifiers\.phone\.default_country: no calling code known for 'ZZ'/],
  ])('%s gives a one-line error with file:line', (_name, yml, expected) => {
    expect(errorOf(yml)).toMatch(expected);
  });
});
