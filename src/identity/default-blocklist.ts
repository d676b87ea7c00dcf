/**
 * Values that are never identifiers, whatever the source says. Placeholders typed into
 * forms, tracker defaults and test accounts would otherwise glue thousands of strangers into
 * one profile through a shared "identifier". Compared after normalisation; exact values
 * case-insensitively. `blocked.defaults: false` in identity.yml turns the list off.
 */
import type { IdentifierKind } from './identity-spec';

export const defaultBlockedValues: readonly string[] = [
  '', 'null', 'none', 'nil', 'undefined', 'nan', 'n/a', 'na', '-', '0', '-1', 'unknown', 'anonymous', 'guest', 'test', 'xxx',
  'test@test.com', 'test@example.com', 'example@example.com', 'email@example.com', 'user@example.com', 'noemail@noemail.com',
  'no@email.com', 'none@none.com', 'a@a.com', 'asdf@asdf.com',
  '00000000-0000-0000-0000-000000000000',
];

/** Patterns in the RE2/POSIX subset every warehouse understands (no \d, no lookaround). */
export const defaultBlockedPatterns: Readonly<Partial<Record<IdentifierKind | 'all', readonly string[]>>> = {
  // All-zero ids: '0000', '00000000-0000-…' (an unset IDFA/GAID), '0-0-0'.
  all: ['^[0-]+$'],
  email: ['^(no-?reply|do-?not-?reply)@'],
  // A country code followed by only zeros, or the 123… keyboard run.
  phone: ['^\\+[0-9]{1,3}0{6,}$', '^\\+[0-9]{1,3}1234567890$'],
  device_id: ['^[0f-]+$'],
};
