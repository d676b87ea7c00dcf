/**
 * Broken definitions: unknown trait or event, an operator not valid for the type, a window
 * without a unit, a cycle between segments — each one line naming the segment file, its
 * line and the rule's path. Planning fails before anything is built.
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
});
