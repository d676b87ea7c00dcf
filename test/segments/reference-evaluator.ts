/**
 * An independent, in-memory evaluation of a rule tree over plain rows — the reference the
 * property test holds the SQL to. Semantics (the documented ones): a comparison with a
 * missing value is false; NOT is plain negation; an event condition counts the person's
 * matching events (name, window from as_of, filters) and compares the count and aggregate;
 * account_members counts distinct current members matching the inner rule per account.
 */
import type { Rule } from '../../src/segments';

export interface RefProfile { profile_id: string; score: number | null; tier: string | null; seen_at: Date | null; active: boolean | null; current_account_id: string | null }
export interface RefAccount { account_id: string; size: number | null; industry: string | null }
export interface RefMembership { profile_id: string; account_id: string; is_current: boolean }
export interface RefEvent { user_id: string; event_type: string; amount: number | null; channel: string | null; occurred_at: Date }
export interface RefData { profiles: RefProfile[]; accounts: RefAccount[]; memberships: RefMembership[]; events: RefEvent[]; graph: Map<string, string> }

type V = string | number | boolean | Date | null;
const UNIT_MS: Record<string, number> = { minute: 60e3, hour: 3600e3, day: 86400e3, week: 7 * 86400e3 };

function compare(x: V, c: { op: string; value?: unknown; unit?: string }, asOf: Date): boolean {
  if (c.op === 'is_null') return x === null;
  if (c.op === 'is_not_null') return x !== null;
  if (x === null) return false;
  const num = (v: unknown): number => (x instanceof Date ? new Date(String(v)).getTime() : (v as number));
  const xv = x instanceof Date ? x.getTime() : x;
  const v = c.value;
  const ago = (n: unknown) => asOf.getTime() - Number(n) * UNIT_MS[c.unit!]!;
  switch (c.op) {
    case 'eq': return xv === (x instanceof Date ? num(v) : v);
    case 'neq': return xv !== (x instanceof Date ? num(v) : v);
    case 'gt': return (xv as number) > num(v);
    case 'gte': return (xv as number) >= num(v);
    case 'lt': return (xv as number) < num(v);
    case 'lte': return (xv as number) <= num(v);
    case 'between': { const [a, b] = v as unknown[]; return (xv as number) >= num(a) && (xv as number) <= num(b); }
    case 'in': return (v as unknown[]).includes(xv);
    case 'not_in': return !(v as unknown[]).includes(xv);
    case 'contains': return String(xv).includes(String(v));
    case 'starts_with': return String(xv).startsWith(String(v));
    case 'within_last': return (xv as number) >= ago(v);
    case 'not_within_last': return (xv as number) < ago(v);
    case 'between_ago': { const [n, m] = v as number[]; return (xv as number) <= ago(n) && (xv as number) >= ago(m); }
  }
  throw new Error(`op ${c.op}`);
}

export function evaluate(rule: Rule, data: RefData, asOf: Date, segments: Record<string, Rule> = {}): Set<string> {
  const accounts = new Map(data.accounts.map((a) => [a.account_id, a]));
  const holds = (r: Rule, p: RefProfile): boolean => {
    if ('all' in r) return r.all.every((x) => holds(x, p));
    if ('any' in r) return r.any.some((x) => holds(x, p));
    if ('not' in r) return !holds(r.not, p);
    if ('trait' in r) return compare((p as unknown as Record<string, V>)[r.trait] ?? null, r, asOf);
    if ('account_trait' in r) {
      const a = p.current_account_id === null ? undefined : accounts.get(p.current_account_id);
      return compare(a ? ((a as unknown as Record<string, V>)[r.account_trait] ?? null) : null, r, asOf);
    }
    if ('event' in r) {
      const mine = data.events.filter(
        (e) =>
          data.graph.get(e.user_id) === p.profile_id &&
          e.event_type === r.event &&
          (!r.within || e.occurred_at.getTime() >= asOf.getTime() - r.within.last * UNIT_MS[r.within.unit]!) &&
          r.where.every((f) => compare((e as unknown as Record<string, V>)[f.property] ?? null, f, asOf)),
      );
      const n = mine.length;
      const t = r.times ?? { at_least: 1 };
      const timesOk = 'at_least' in t ? n >= t.at_least : 'at_most' in t ? n <= t.at_most : n === t.exactly;
      if (!r.aggregate) return timesOk;
      const values = mine.map((e) => (e as unknown as Record<string, V>)[r.aggregate!.property] as number | null).filter((v): v is number => v !== null);
      let agg: number | null;
      switch (r.aggregate.fn) {
        case 'count': agg = values.length; break;
        case 'sum': agg = values.length ? values.reduce((a, b) => a + b, 0) : null; break;
        case 'avg': agg = values.length ? values.reduce((a, b) => a + b, 0) / values.length : null; break;
        case 'min': agg = values.length ? Math.min(...values) : null; break;
        case 'max': agg = values.length ? Math.max(...values) : null; break;
      }
      return timesOk && compare(agg, r.aggregate, asOf);
    }
    if ('account_members' in r) {
      if (p.current_account_id === null) return false;
      const matching = new Set(
        data.memberships
          .filter((m) => m.is_current && m.account_id === p.current_account_id)
          .map((m) => m.profile_id)
          .filter((id) => { const q = data.profiles.find((x) => x.profile_id === id); return q !== undefined && holds(r.account_members.where, q); }),
      );
      return matching.size >= r.account_members.at_least;
    }
    if ('in_segment' in r) return holds(segments[r.in_segment]!, p);
    if (r.sql === 'p.score > 3') return p.score !== null && p.score > 3;
    throw new Error(`reference cannot evaluate sql ${r.sql}`);
  };
  return new Set(data.profiles.filter((p) => holds(rule, p)).map((p) => p.profile_id));
}
