/**
 * The normalisation rules as SQL expressions, through the dialect only (regex and string
 * macros), so they mean the same on every warehouse. Mirror of `normalize-value.ts`: change
 * both or neither (the normalisation tests compare them on real engines).
 */
import type { Dialect } from '../warehouse';
import type { IdentifierRule } from './identifier-rules';

/** The normalised value, or NULL when absent or invalid. `column` is a SQL expression. */
export function normalizedSql(d: Dialect, rule: IdentifierRule, column: string): string {
  const raw = d.cast(column, 'string');
  const present = `NULLIF(trim(${raw}), '')`;
  // With trim off the raw text is kept, but a blank value is still absent.
  const text = rule.trim ? present : `CASE WHEN ${present} IS NOT NULL THEN ${raw} END`;
  switch (rule.kind) {
    case 'email': {
      const email = `lower(${text})`;
      return `CASE WHEN ${email} LIKE '%_@_%' AND ${email} NOT LIKE '% %' THEN ${email} END`;
    }
    case 'phone':
      return phoneSql(d, rule, text);
    case 'custom': {
      const value = rule.lowercase ? `lower(${text})` : text;
      return rule.pattern === undefined ? value : `CASE WHEN ${d.regexMatches(value, rule.pattern)} THEN ${value} END`;
    }
    default:
      return rule.lowercase ? `lower(${text})` : text;
  }
}

/** E.164 from the rules in `normalize-value.ts#toE164`. */
function phoneSql(d: Dialect, rule: IdentifierRule, text: string): string {
  const country = rule.phone!;
  const digits = d.regexReplace(text, '[^0-9]', '');
  const code = d.literal(country.code);
  const national = (n: string) => `LENGTH(${n}) BETWEEN ${country.minLength} AND ${country.maxLength}`;
  const withoutFirst = `SUBSTR(${digits}, 2)`;
  const branches = [
    `WHEN ${text} LIKE '+%' THEN '+' || ${digits}`,
    `WHEN ${digits} LIKE '00%' THEN '+' || SUBSTR(${digits}, 3)`,
    ...(country.trunkZero ? [`WHEN ${digits} LIKE '0%' AND ${national(withoutFirst)} THEN '+' || ${code} || ${withoutFirst}`] : []),
    ...(country.code === '1' ? [`WHEN LENGTH(${digits}) = 11 AND ${digits} LIKE '1%' THEN '+' || ${digits}`] : []),
    `WHEN ${national(digits)} THEN '+' || ${code} || ${digits}`,
  ];
  const e164 = `(CASE ${branches.join(' ')} END)`;
  return `CASE WHEN LENGTH(${e164}) BETWEEN 9 AND 16 THEN ${e164} END`;
}

/** Why `value` (a normalised, non-null SQL expression) is blocked, or NULL. Same order as `blockReason`. */
export function blockReasonSql(d: Dialect, rule: IdentifierRule, value: string): string {
  const branches: string[] = [];
  if (rule.blockedValues.length > 0) {
    branches.push(`WHEN lower(${value}) IN (${rule.blockedValues.map((v) => d.literal(v)).join(', ')}) THEN 'blocked value'`);
  }
  for (const pattern of rule.blockedPatterns) {
    branches.push(`WHEN ${d.regexMatches(value, pattern)} THEN ${d.literal(`blocked pattern ${pattern}`)}`);
  }
  return branches.length === 0 ? 'CAST(NULL AS ' + d.typeName('string') + ')' : `CASE ${branches.join(' ')} END`;
}
