/**
 * Broken definitions: unknown trait or event, an operator not valid for the type, a window
 * without a unit, a cycle between segments, two names that differ only in case — each one
 * line naming the segment file, its line and the rule's path. Planning fails before anything
 * is built; with `keepGoing` (the server, the scheduler) the broken ones, the members of a
 * cycle and what refers to them are set aside with that line, and the rest plans.
 */
import { isCdpError } from '../../src/errors';
import { openTestWarehouse, type TestWarehouse } from '../helpers/test-warehouses';
import { makeSegmentsWorld, type SegmentsWorld } from './segments-world';

describe('segment definition errors', () => {
  let t: TestWarehouse;
  let world: SegmentsWorld;
  beforeAll(async () => {
    t = await openTestWarehouse('duckdb');
    world = await makeSegmentsWorld(t.warehouse, t.schema);
    world.catalog.events.get('ev')!.names = new Set(['view', 'cart']);
  });
  afterAll(async () => t?.cleanup());

  const errorOf = (files: Record<string, string>): string => {
    try {
      world.plan(files);
    } catch (error) {
      if (isCdpError(error)) return `${error.kind}: ${error.toLine()}`;
      throw error;
    }
    throw new Error('expected a config error');
  };

  test('unknown trait', () => {
    expect(errorOf({ bad: 'rules:\n  all:\n    - { trait: score, op: gt, value: 1 }\n    - { trait: scroe, op: gt, value: 1 }\n' })).toBe(
      "config: segments/bad.yml:4: rules.all.1.trait: unknown trait 'scroe' of profiles — known: profile_id, score, tier, seen_at, active, email, current_account_id",
    );
  });

  test('unknown event', () => {
    expect(errorOf({ bad: 'rules:\n  event: purchase\n' })).toBe("config: segments/bad.yml:2: rules.event: unknown event 'purchase' in source 'ev' — seen: cart, view");
  });

  test('operator not valid for the type', () => {
    expect(errorOf({ bad: 'rules:\n  any:\n    - not: { trait: tier, op: gt, value: 3 }\n' })).toBe(
      "config: segments/bad.yml:3: rules.any.0.not.op: operator 'gt' does not apply to trait 'tier' (string) — use one of eq, neq, in, not_in, contains, starts_with, is_null, is_not_null",
    );
    expect(errorOf({ bad: 'rules: { trait: score, op: eq, value: "5" }\n' })).toBe('config: segments/bad.yml:1: rules.value: eq on trait \'score\' needs a number — fix the value');
  });

  test('window without a unit', () => {
    expect(errorOf({ bad: 'rules:\n  all:\n    - event: view\n      within: { last: 30 }\n' })).toBe(
      'config: segments/bad.yml:4: rules.all.0.within: the window has no unit — add unit: day (or minute, hour, week, month, year)',
    );
    expect(errorOf({ bad: 'rules: { trait: seen_at, op: within_last, value: 30 }\n' })).toBe(
      "config: segments/bad.yml:1: rules.unit: the window of 'within_last' has no unit — add unit: day (or minute, hour, week, month, year)",
    );
  });

  test('a cycle between segments names them and the reference', () => {
    expect(
      errorOf({
        a: 'rules:\n  all:\n    - { trait: score, op: gt, value: 1 }\n    - { in_segment: b }\n',
        b: 'rules: { any: [ { in_segment: c } ] }\n',
        c: 'rules:\n  not:\n    in_segment: a\n',
      }),
    ).toBe('config: segments/c.yml:3: rules.not.in_segment: segments refer to each other in a cycle: a → b → c → a — remove one of these in_segment references');
  });

  test('unknown segment, shape errors and sql/rules both given', () => {
    expect(errorOf({ bad: 'rules: { in_segment: nope }\n' })).toMatch(/^config: segments\/bad.yml:1: rules.in_segment: unknown segment 'nope'/);
    expect(errorOf({ bad: 'rules: { trait: score, op: bigger, value: 1 }\n' })).toMatch(/^config: segments\/bad.yml:1: rules.op: must be one of eq, neq/);
    expect(errorOf({ bad: 'rules: { traits: score }\n' })).toMatch(/^config: segments\/bad.yml:1: rules: not a rule — a rule has one of the keys all, any, not, trait/);
    expect(errorOf({ bad: 'sql: SELECT 1\nrules: { trait: score, op: is_null }\n' })).toMatch(/^config: segments\/bad.yml:1: .*either sql: or rules:/);
  });

  test('two names that differ only in case are one table to the warehouse: refused', () => {
    expect(errorOf({ vip: 'rules: { trait: score, op: gt, value: 1 }\n', VIP: 'rules: { trait: score, op: gt, value: 2 }\n' })).toBe(
      'config: segments/VIP.yml: segment VIP would build the same table as segment vip (segments/vip.yml): warehouse names ignore case — rename one of them',
    );
  });

  test('keepGoing: a broken definition, a cycle and what refers to them are set aside with their line; the rest plans', () => {
    const plan = world.plan(
      {
        good: 'rules: { trait: score, op: gt, value: 1 }\n',
        uses_good: 'rules: { in_segment: good }\n',
        bad: 'rules:\n  all:\n    - { trait: scroe, op: gt, value: 1 }\n',
        uses_bad: 'rules: { all: [ { in_segment: bad } ] }\n',
        uses_uses_bad: 'rules: { in_segment: uses_bad }\n',
        a: 'rules: { in_segment: b }\n',
        b: 'rules: { in_segment: a }\n',
        Good: 'rules: { trait: score, op: gt, value: 3 }\n',
        malformed: 'rules: [\n',
      },
      { keepGoing: true },
    );
    expect(plan.segments.map((s) => s.name)).toEqual(['good', 'uses_good']);
    const broken = Object.fromEntries([...plan.broken.values()].map((b) => [b.name, { line: b.error.toLine(), blockedBy: b.blockedBy }]));
    expect(Object.keys(broken).sort()).toEqual(['Good', 'a', 'b', 'bad', 'malformed', 'uses_bad', 'uses_uses_bad']);
    expect(broken.bad).toEqual({ line: expect.stringMatching(/^segments\/bad.yml:3: rules.all.0.trait: unknown trait 'scroe'/), blockedBy: undefined });
    expect(broken.uses_bad!.line).toMatch(/^segments\/uses_bad.yml: segment uses_bad refers to segment bad \(in_segment\), which is broken: .*unknown trait 'scroe'.* — fix bad \(segments\/bad.yml\), or remove the reference$/);
    expect(broken.uses_uses_bad!.blockedBy).toBe('bad');
    expect(broken.a!.line).toMatch(/cycle: a → b → a/);
    expect(broken.b!.line).toBe(broken.a!.line);
    expect(broken.Good!.line).toMatch(/same table as segment good/);
    expect(broken.malformed!.line).toMatch(/^segments\/malformed.yml:\d+: YAML syntax error/);
    // Without keepGoing the same set fails as a whole, on the first broken definition.
    expect(() => world.plan({ good: 'rules: { trait: score, op: gt, value: 1 }\n', bad: 'rules: { trait: scroe, op: gt, value: 1 }\n' })).toThrow(/unknown trait 'scroe'/);
  });
});
