/**
 * Meta's customer-file rules (../shared/research/destinations.md §10): each schema key's
 * normalisation, then SHA-256 lowercase hex — except MADID and EXTERN_ID, which Meta wants
 * in clear. Country and zip ARE hashed (unlike Google). A value that is already a SHA-256
 * hex digest passes through unchanged for a hashed key (hashing twice makes it
 * unmatchable). Invariant: every normaliser returns null for a value that cannot be a valid
 * identifier, so the connector drops the key (or rejects the row) instead of sending a
 * hash of garbage; no raw email or phone ever leaves `metaIdentifiers`.
 */
import { isSha256Hex, normalizeEmail, normalizePhoneDigits, sha256Hex, type FieldValue } from '../kit';

/** The multi-key schema keys this connector sends, in the order it sends them. */
export const META_KEYS = ['EXTERN_ID', 'EMAIL', 'PHONE', 'GEN', 'DOBY', 'DOBM', 'DOBD', 'LN', 'FN', 'FI', 'CT', 'ST', 'ZIP', 'COUNTRY', 'MADID'] as const;
export type MetaKey = (typeof META_KEYS)[number];

/** Keys Meta wants in clear. */
export const META_UNHASHED: ReadonlySet<MetaKey> = new Set(['MADID', 'EXTERN_ID']);

/** Mapped field names (lowercase) → schema key; Meta's own key names work too. */
const FIELD_ALIASES: Record<string, MetaKey> = {
  extern_id: 'EXTERN_ID',
  external_id: 'EXTERN_ID',
  email: 'EMAIL',
  phone: 'PHONE',
  gen: 'GEN',
  gender: 'GEN',
  doby: 'DOBY',
  dobm: 'DOBM',
  dobd: 'DOBD',
  ln: 'LN',
  last_name: 'LN',
  fn: 'FN',
  first_name: 'FN',
  fi: 'FI',
  ct: 'CT',
  city: 'CT',
  st: 'ST',
  state: 'ST',
  zip: 'ZIP',
  postal_code: 'ZIP',
  country: 'COUNTRY',
  madid: 'MADID',
};

export function metaKeyForField(field: string): MetaKey | undefined {
  return FIELD_ALIASES[field.toLowerCase()];
}

// NFC first: a decomposed é (e + U+0301) must hash like Meta's "valéry", not lose its accent.
const lettersOnly = (v: string) => v.normalize('NFC').trim().toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');

/**
 * Digits only, no `+`, no leading zeros, country code included: the kit's E.164 without the
 * `+` (so a number that cannot exist is null). A number written with `+` or `00` carries its
 * country code; with `defaultCountry` (`US` or `1`) any other is national there — Meta's own
 * example: US "(650)555-1212" → 16505551212. Without a default, digits are taken as already
 * international (Meta: "always include the country code"), so a trunk-zero national number
 * such as "020 7946 0958" is null rather than guessed.
 */
export function normaliseMetaPhone(value: string, defaultCountry?: string): string | null {
  const text = value.trim();
  return normalizePhoneDigits(!defaultCountry && /^[1-9]/.test(text) ? `+${text}` : text, defaultCountry);
}

/** One key's normalised (not yet hashed) value, or null when unusable. */
export function normaliseMetaValue(key: MetaKey, value: string, defaultCountryCode?: string): string | null {
  const v = value.trim();
  if (v === '') return null;
  switch (key) {
    case 'EMAIL':
      return normalizeEmail(v);
    case 'PHONE':
      return normaliseMetaPhone(v, defaultCountryCode);
    case 'GEN': {
      const g = v.toLowerCase()[0];
      return g === 'm' || g === 'f' ? g : null;
    }
    case 'DOBY':
      return /^\d{4}$/.test(v) ? v : null;
    case 'DOBM':
    case 'DOBD': {
      const n = Number(v);
      const max = key === 'DOBM' ? 12 : 31;
      return Number.isInteger(n) && n >= 1 && n <= max ? String(n).padStart(2, '0') : null;
    }
    case 'FN':
    case 'LN':
    case 'CT':
      return lettersOnly(v) || null;
    case 'FI':
      return lettersOnly(v).slice(0, 1) || null;
    case 'ST':
      return lettersOnly(v) || null;
    case 'ZIP': {
      const zip = v.toLowerCase().replace(/[\s-]/g, '');
      // US ZIP+4: Meta matches on the first five digits.
      return (/^\d{9}$/.test(zip) ? zip.slice(0, 5) : zip) || null;
    }
    case 'COUNTRY': {
      const c = v.toLowerCase();
      return /^[a-z]{2}$/.test(c) ? c : null;
    }
    case 'MADID':
      return /^[0-9a-f-]{8,64}$/i.test(v) ? v.toLowerCase() : null;
    case 'EXTERN_ID':
      return v;
  }
}

/** The value Meta receives for one key: normalised then hashed, or in clear for MADID/EXTERN_ID. */
export function metaValue(key: MetaKey, value: string, defaultCountryCode?: string): string | null {
  if (!META_UNHASHED.has(key) && isSha256Hex(value.trim().toLowerCase())) return value.trim().toLowerCase();
  const normalised = normaliseMetaValue(key, value, defaultCountryCode);
  if (normalised === null) return null;
  return META_UNHASHED.has(key) ? normalised : sha256Hex(normalised);
}

export interface MetaIdentifiers {
  /** Key → value as sent (hashed where Meta wants hashes). */
  values: Partial<Record<MetaKey, string>>;
  /** Mapped fields that were present but unusable, with why (for the rejection reason). */
  unusable: string[];
}

/** The identifiers one row gives Meta; fields that are not identifiers are ignored. */
export function metaIdentifiers(fields: Record<string, FieldValue>, defaultCountryCode?: string): MetaIdentifiers {
  const values: Partial<Record<MetaKey, string>> = {};
  const unusable: string[] = [];
  for (const [field, raw] of Object.entries(fields)) {
    const key = metaKeyForField(field);
    if (!key || raw === null || raw === undefined || typeof raw === 'object') continue;
    const text = String(raw);
    if (text.trim() === '') continue;
    const value = metaValue(key, text, defaultCountryCode);
    if (value === null) unusable.push(`${field} is not a valid ${key}`);
    else values[key] = value;
  }
  return { values, unusable };
}

/** The keys that identify a person on their own (names, places and birth dates only refine a match). */
export const META_MATCH_KEYS: ReadonlySet<MetaKey> = new Set(['EMAIL', 'PHONE', 'MADID', 'EXTERN_ID']);
