/**
 * Identifier normalisation and hashing as destinations want them
 * (../shared/research/destinations.md §0): Google, Meta, LinkedIn and TikTok take SHA-256
 * lowercase hex of a normalised value; Mailchimp keys members by MD5 of the lowercased
 * email. Normalisers return null for a value that cannot be a valid identifier, so a
 * connector rejects that row with a reason instead of sending garbage (or a hash of it).
 * Phone numbers are parsed in phone.ts.
 */
import { createHash, createHmac } from 'node:crypto';
import { normalizePhoneDigits, normalizePhoneE164 } from './phone';

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function md5Hex(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

/** HMAC-SHA256 hex of `payload` with `secret` (webhook signatures). */
export function hmacSha256Hex(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(payload, 'utf8').digest('hex');
}

/** Already a SHA-256 hex digest? (Then hashing again would make it unmatchable.) */
export function isSha256Hex(text: string): boolean {
  return /^[0-9a-f]{64}$/.test(text);
}

export interface EmailOptions {
  /** LinkedIn and TikTok implementations also remove whitespace inside the address. */
  removeInnerWhitespace?: boolean;
  /** Gmail-style: drop dots and +tags of gmail.com / googlemail.com local parts (Google Ads). */
  canonicalGmail?: boolean;
}

/** Trimmed, lowercased email; null when it is not shaped like one address. */
export function normalizeEmail(value: string | null | undefined, options: EmailOptions = {}): string | null {
  if (value === null || value === undefined) return null;
  let email = value.trim().toLowerCase();
  if (options.removeInnerWhitespace) email = email.replace(/\s+/g, '');
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) return null;
  if (options.canonicalGmail) {
    const [local, domain] = email.split('@') as [string, string];
    if (domain === 'gmail.com' || domain === 'googlemail.com') email = `${local.split('+')[0]!.replace(/\./g, '')}@${domain}`;
  }
  return email;
}

/** Lowercased, trimmed, and for Meta's zip/city/country rules optionally stripped of spaces and punctuation. */
export function normalizeText(value: string | null | undefined, options: { stripNonAlphanumeric?: boolean } = {}): string | null {
  if (value === null || value === undefined) return null;
  let text = value.trim().toLowerCase();
  if (options.stripNonAlphanumeric) text = text.replace(/[^\p{L}\p{N}]/gu, '');
  return text === '' ? null : text;
}

/** SHA-256 hex of a normalised email; an input that is already a SHA-256 hex passes through. */
export function hashEmail(value: string | null | undefined, options: EmailOptions = {}): string | null {
  if (value !== null && value !== undefined && isSha256Hex(value.trim())) return value.trim();
  const email = normalizeEmail(value, options);
  return email === null ? null : sha256Hex(email);
}

/** SHA-256 hex of a phone normalised per the vendor: 'e164' (Google) or 'digits' (Meta); `defaultCountry` as in phone.ts. */
export function hashPhone(value: string | null | undefined, style: 'e164' | 'digits', defaultCountry?: string): string | null {
  if (value !== null && value !== undefined && isSha256Hex(value.trim())) return value.trim();
  const phone = style === 'e164' ? normalizePhoneE164(value, defaultCountry) : normalizePhoneDigits(value, defaultCountry);
  return phone === null ? null : sha256Hex(phone);
}

/** Mailchimp's member id (subscriber hash): MD5 of the lowercased email. Not a privacy hash. */
export function mailchimpSubscriberHash(email: string): string {
  return md5Hex(email.trim().toLowerCase());
}
