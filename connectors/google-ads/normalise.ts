/**
 * Google Ads Customer Match identifier rules (destinations.md §9): trim and lowercase;
 * periods and `+suffix` of gmail.com / googlemail.com local parts removed; phones in E.164
 * (with `+`) before hashing; SHA-256 hex for email, phone, first and last name; country code
 * (ISO-2, upper case) and postal code are sent in clear — never hashed. Invariant: null for
 * an unusable value; nothing raw for email, phone or names ever leaves `googleUserIdentifiers`.
 */
import { isSha256Hex, normalizeEmail, normalizePhoneE164, sha256Hex, type FieldValue } from '../kit';

/**
 * Google's documented email format (Data Manager API "Format user data", which feeds the same
 * Customer Match): lowercase; leading, trailing and intermediate whitespace removed; for
 * gmail.com / googlemail.com, the dots of the local part and a `+suffix` removed — e.g.
 * `cloudy.sanfrancisco+shopping@gmail.com` → `cloudysanfrancisco@gmail.com`; other domains keep
 * dots and plus signs (`user.name+NYC@Example.com` → `user.name+nyc@example.com`).
 */
export function normaliseGoogleEmail(value: string): string | null {
  return normalizeEmail(value, { removeInnerWhitespace: true, canonicalGmail: true });
}

const hashed = (value: string, normalise: (v: string) => string | null): string | null => {
  const v = value.trim();
  if (isSha256Hex(v.toLowerCase())) return v.toLowerCase();
  const n = normalise(v);
  return n === null ? null : sha256Hex(n);
};

export interface GoogleAddressInfo {
  hashedFirstName: string;
  hashedLastName: string;
  countryCode: string;
  postalCode: string;
}
export type GoogleUserIdentifier = { hashedEmail: string } | { hashedPhoneNumber: string } | { addressInfo: GoogleAddressInfo } | { thirdPartyUserId: string } | { mobileId: string };

const text = (v: FieldValue | undefined): string | undefined => (v === null || v === undefined || typeof v === 'object' ? undefined : String(v).trim() || undefined);

/**
 * A row's identifiers (≤20, Google's per-user limit): email, phone, address (only when first
 * name, last name, country and postal code are all usable), mobile id, third-party id.
 * Fields: email, phone, first_name, last_name, country, postal_code|zip, mobile_id, third_party_user_id.
 */
export function googleUserIdentifiers(fields: Record<string, FieldValue>, defaultCountryCode?: string): { identifiers: GoogleUserIdentifier[]; types: string[]; unusable: string[] } {
  const identifiers: GoogleUserIdentifier[] = [];
  const types: string[] = [];
  const unusable: string[] = [];
  const email = text(fields.email);
  if (email !== undefined) {
    const h = hashed(email, normaliseGoogleEmail);
    if (h) (identifiers.push({ hashedEmail: h }), types.push('email'));
    else unusable.push('email is not a valid address');
  }
  const phone = text(fields.phone);
  if (phone !== undefined) {
    const h = hashed(phone, (v) => normalizePhoneE164(v, defaultCountryCode));
    if (h) (identifiers.push({ hashedPhoneNumber: h }), types.push('phone'));
    else unusable.push('phone cannot be written in E.164');
  }
  const [fn, ln, country, postal] = [text(fields.first_name), text(fields.last_name), text(fields.country), text(fields.postal_code) ?? text(fields.zip)];
  if (fn && ln && country && postal) {
    const cc = country.toUpperCase();
    const hf = hashed(fn, (v) => v.toLowerCase());
    const hl = hashed(ln, (v) => v.toLowerCase());
    if (/^[A-Z]{2}$/.test(cc) && hf && hl) {
      identifiers.push({ addressInfo: { hashedFirstName: hf, hashedLastName: hl, countryCode: cc, postalCode: postal } });
      types.push('address');
    } else unusable.push('address needs a two-letter country code');
  }
  const mobile = text(fields.mobile_id);
  if (mobile) (identifiers.push({ mobileId: mobile }), types.push('mobile_id'));
  const third = text(fields.third_party_user_id);
  if (third) (identifiers.push({ thirdPartyUserId: third }), types.push('third_party_user_id'));
  return { identifiers: identifiers.slice(0, 20), types, unusable };
}
