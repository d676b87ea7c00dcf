/**
 * The normalisation rules in TypeScript, value by value: the same rules `normalize-sql.ts`
 * writes as SQL (the tests hold them equal on real engines). Used by `cdp identity explain`
 * (so `email: Ann@Example.COM ` finds ann@example.com) and by the reference implementation.
 */
import type { IdentifierRule } from './identifier-rules';

export type Normalized = { status: 'ok'; value: string } | { status: 'invalid' } | { status: 'blocked'; value: string; reason: string } | { status: 'absent' };

export function normalizeIdentifier(rule: IdentifierRule, raw: string | null | undefined): Normalized {
  if (raw === null || raw === undefined) return { status: 'absent' };
  const trimmed = raw.trim();
  if (trimmed === '') return { status: 'absent' };
  const value = normalizeText(rule, rule.trim ? trimmed : raw);
  if (value === null) return { status: 'invalid' };
  const reason = blockReason(rule, value);
  return reason ? { status: 'blocked', value, reason } : { status: 'ok', value };
}

function normalizeText(rule: IdentifierRule, text: string): string | null {
  switch (rule.kind) {
    case 'email': {
      const email = text.toLowerCase();
      return /^.+@.+$/s.test(email) && !email.includes(' ') ? email : null;
    }
    case 'phone':
      return toE164(text, rule);
    case 'custom': {
      const value = rule.lowercase ? text.toLowerCase() : text;
      return rule.pattern === undefined || new RegExp(rule.pattern).test(value) ? value : null;
    }
    default:
      return rule.lowercase ? text.toLowerCase() : text;
  }
}

function toE164(text: string, rule: IdentifierRule): string | null {
  const country = rule.phone;
  if (!country) return null;
  const digits = text.replace(/[^0-9]/g, '');
  const national = (n: string) => n.length >= country.minLength && n.length <= country.maxLength;
  let e164: string | null = null;
  if (text.startsWith('+')) e164 = `+${digits}`;
  else if (digits.startsWith('00')) e164 = `+${digits.slice(2)}`;
  else if (country.trunkZero && digits.startsWith('0') && national(digits.slice(1))) e164 = `+${country.code}${digits.slice(1)}`;
  else if (country.code === '1' && digits.length === 11 && digits.startsWith('1')) e164 = `+${digits}`;
  else if (national(digits)) e164 = `+${country.code}${digits}`;
  return e164 !== null && e164.length >= 9 && e164.length <= 16 ? e164 : null;
}

export function blockReason(rule: IdentifierRule, value: string): string | null {
  if (rule.blockedValues.includes(value.toLowerCase())) return 'blocked value';
  for (const pattern of rule.blockedPatterns) if (new RegExp(pattern).test(value)) return `blocked pattern ${pattern}`;
  return null;
}
