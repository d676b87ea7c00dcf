/**
 * How real source systems mangle clean values: emails typed with capitals and stray spaces,
 * phones in half a dozen formats, placeholder junk that sales reps type to get past a
 * required field. Models must clean all of this; tests check that it actually occurs.
 */
import type { Rng } from './prng';

/** Junk emails seen in CRMs; '' and 'null' are strings, not NULLs. */
export const JUNK_EMAILS = ['test@test.com', 'TEST@TEST.COM ', '', 'null', 'N/A', 'n/a'] as const;
export const JUNK_PHONES = ['0000000000', '', 'null', 'N/A', '1234567890'] as const;

/**
 * A variant of a lower-case email that normalises (lower + trim) back to it:
 * 'john.doe7@example.com' → '  John.Doe7@Example.COM '.
 */
export function emailVariant(email: string, rng: Rng): string {
  switch (rng.int(5)) {
    case 0:
      return ` ${email} `;
    case 1:
      return email.toUpperCase();
    case 2:
      return titleEmail(email);
    case 3:
      return `  ${titleEmail(email)} `;
    default:
      return `${email}  `;
  }
}

/** 'john.doe7@example.com' → 'John.Doe7@Example.COM' (capitalised words, upper-case TLD). */
function titleEmail(email: string): string {
  const at = email.indexOf('@');
  const local = email.slice(0, at).replace(/(^|[._])([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase());
  const domain = email.slice(at + 1);
  const dot = domain.lastIndexOf('.');
  const host = domain.slice(0, dot);
  return `${local}@${host.charAt(0).toUpperCase()}${host.slice(1)}.${domain.slice(dot + 1).toUpperCase()}`;
}

/** '4155550134' in one of the formats people and systems actually write. */
export function phoneFormat(digits: string, rng: Rng): string {
  const a = digits.slice(0, 3);
  const e = digits.slice(3, 6);
  const l = digits.slice(6);
  switch (rng.int(6)) {
    case 0:
      return `+1 ${a}-${e}-${l}`;
    case 1:
      return `(${a}) ${e} ${l}`;
    case 2:
      return digits;
    case 3:
      return `${a}.${e}.${l}`;
    case 4:
      return `+1${digits}`;
    default:
      return `1-${a}-${e}-${l}`;
  }
}

/** Names as CRMs hold them: mostly title case, sometimes shouted or lower-cased. */
export function nameVariant(name: string, rng: Rng): string {
  const r = rng.float();
  if (r < 0.08) return name.toUpperCase();
  if (r < 0.13) return name.toLowerCase();
  if (r < 0.16) return ` ${name}`;
  return name;
}
