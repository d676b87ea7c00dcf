/**
 * One short human line per rule node: the label of a condition group in `cdp segments size`
 * and the comment above its SQL. Pure text; no SQL here.
 */
import type { Comparison, Rule } from './rule-schema';

const opText: Record<string, string> = {
  eq: '=', neq: '≠', gt: '>', gte: '≥', lt: '<', lte: '≤', in: 'in', not_in: 'not in', contains: 'contains', starts_with: 'starts with',
};

export function describeComparison(subject: string, c: Comparison): string {
  const v = c.value;
  const show = (x: unknown) => (Array.isArray(x) ? `[${x.map((y) => JSON.stringify(y)).join(', ')}]` : JSON.stringify(x));
  switch (c.op) {
    case 'is_null':
      return `${subject} is empty`;
    case 'is_not_null':
      return `${subject} is set`;
    case 'between':
      return `${subject} between ${show((v as unknown[])[0])} and ${show((v as unknown[])[1])}`;
    case 'within_last':
      return `${subject} within the last ${String(v)} ${c.unit}(s)`;
    case 'not_within_last':
      return `${subject} more than ${String(v)} ${c.unit}(s) ago`;
    case 'between_ago':
      return `${subject} between ${String((v as unknown[])[0])} and ${String((v as unknown[])[1])} ${c.unit}(s) ago`;
    default:
      return `${subject} ${opText[c.op] ?? c.op} ${show(v)}`;
  }
}

export function describeRule(rule: Rule): string {
  if ('all' in rule) return `all of ${rule.all.length} conditions`;
  if ('any' in rule) return rule.any.length === 1 ? describeRule(rule.any[0]) : `any of ${rule.any.map(describeRule).join(' | ')}`;
  if ('not' in rule) return `not (${describeRule(rule.not)})`;
  if ('trait' in rule) return describeComparison(rule.trait, rule);
  if ('account_trait' in rule) return describeComparison(`account.${rule.account_trait}`, rule);
  if ('event' in rule) {
    const t = rule.times ?? { at_least: 1 };
    const times = 'at_least' in t ? `at least ${t.at_least}` : 'at_most' in t ? `at most ${t.at_most}` : `exactly ${t.exactly}`;
    const within = rule.within ? ` in the last ${rule.within.last} ${rule.within.unit}(s)` : '';
    const where = rule.where.length ? ` where ${rule.where.map((f) => describeComparison(f.property, f)).join(' and ')}` : '';
    const agg = rule.aggregate ? `, ${rule.aggregate.fn}(${rule.aggregate.property}) ${describeComparison('', rule.aggregate).trim()}` : '';
    return `performed ${rule.event} ${times} time(s)${within}${where}${agg}`;
  }
  if ('account_members' in rule) return `account has at least ${rule.account_members.at_least} people matching (${describeRule(rule.account_members.where)})`;
  if ('in_segment' in rule) return `in segment ${rule.in_segment}`;
  return `sql: ${rule.sql.replace(/\s+/g, ' ').slice(0, 60)}`;
}
