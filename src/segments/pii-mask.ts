/**
 * Masks personal data in previews: a column is PII when its name says so (email, phone,
 * names, address, identifiers, ip, birth date…) or segments.yml lists it under `pii:`.
 * A masked email keeps its first letter and domain (`j***@example.com`), anything else its
 * first character — enough to tell rows apart, not to identify anyone.
 */
import type { Row, Scalar } from '../warehouse';

const PII_NAME = /(e_?mail|phone|mobile|first_?name|last_?name|full_?name|^name$|address|street|postcode|zip|identifiers|^ip$|ip_address|birth|ssn|passport)/i;

export function isPiiColumn(column: string, extra: readonly string[]): boolean {
  return PII_NAME.test(column) || extra.includes(column);
}

export function maskValue(value: Scalar): Scalar {
  if (value === null) return null;
  const text = value instanceof Date ? value.toISOString() : String(value);
  const at = text.indexOf('@');
  if (at > 0 && !text.includes(' ')) return `${text[0]}***${text.slice(at)}`;
  return text.length <= 1 ? '*' : `${text[0]}***`;
}

export function maskRows(rows: Row[], extra: readonly string[]): Row[] {
  return rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, isPiiColumn(k, extra) ? maskValue(v) : v])));
}
