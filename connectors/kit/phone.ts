/**
 * Phone numbers in E.164 as the ad vendors want them (Google and TikTok hash `+` and the
 * digits; Meta the digits with the country code), parsed and validated by libphonenumber-js
 * with its `max` metadata (connectors/CONTEXT.md says why max).
 *
 * Rules: a number written with `+` or `00` in front is international; any other is national
 * in the default country (an ISO 3166 country such as `US`, or a country calling code such
 * as `1`), so the country's own trunk and international prefixes are applied (`0` in the UK,
 * `1` and `011` in the US) and Italian numbers keep their leading 0 or 3. A number the
 * metadata says cannot exist (too short, too long, an unassigned range) is null: the row is
 * rejected as invalid, never sent as a guess.
 */
import { getCountries, getCountryCallingCode, isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { z } from 'zod';

/** Where national numbers are from: a country, or only its calling code (`1` → US rules, `44` → GB). */
export type PhoneRegion = { defaultCountry: CountryCode } | { defaultCallingCode: string };

let countryCallingCodes: Set<string> | undefined;
const regions = new Map<string, PhoneRegion | string>();

/** The region a default-country setting names, or why it names none (a message for the config error). */
function resolveRegion(setting: string): PhoneRegion | string {
  const cached = regions.get(setting);
  if (cached !== undefined) return cached;
  const value = setting.trim();
  let region: PhoneRegion | string;
  if (/^[A-Za-z]{2}$/.test(value) && isSupportedCountry(value.toUpperCase())) region = { defaultCountry: value.toUpperCase() as CountryCode };
  else if (/^\+?\d{1,3}$/.test(value) && (countryCallingCodes ??= new Set(getCountries().map((c) => getCountryCallingCode(c)))).has(value.replace('+', ''))) region = { defaultCallingCode: value.replace('+', '') };
  else {
    const hint = value.toUpperCase() === 'UK' ? ' (the ISO code of the United Kingdom is GB)' : '';
    region = `"${setting}" is neither an ISO 3166 country (US, GB, IT) nor the calling code of a country (1, 44, 39)${hint}`;
  }
  regions.set(setting, region);
  return region;
}

/** The region of a default-country setting (`US`, `gb`, `1`, `+44`), or null when it names none. */
export function phoneRegion(setting: string): PhoneRegion | null {
  const region = resolveRegion(setting);
  return typeof region === 'string' ? null : region;
}

/**
 * A connector option for the country of national phone numbers: an ISO 3166 country or a
 * country calling code (a YAML `44` arrives as a number and is read as '44'). An unknown value
 * fails when the options are parsed (a `config` failure before anything is sent), with a
 * message saying what is accepted.
 */
export const phoneDefaultCountryOption = z
  .union([z.string(), z.number().int().nonnegative()])
  .transform(String)
  .pipe(
    z.string().superRefine((value, ctx) => {
      const region = resolveRegion(value);
      if (typeof region === 'string') ctx.addIssue({ code: 'custom', message: region });
    }),
  );

/**
 * E.164 (`+` and the digits), or null for a value that is not a possible, valid number — or
 * a national number with no `defaultCountry` to read it in. `defaultCountry` is an ISO
 * country or a calling code (see `phoneDefaultCountryOption`); an unknown one throws, as the
 * option schema should have caught it.
 */
export function normalizePhoneE164(value: string | null | undefined, defaultCountry?: string): string | null {
  if (value === null || value === undefined) return null;
  let text = value.trim();
  // `00` is read as `+` whatever the country's own international prefix is (it is `011` in the US).
  if (!text.startsWith('+') && /^[^\d+]*00/.test(text)) text = text.replace(/^[^\d+]*00/, '+');
  let region: PhoneRegion | undefined;
  if (!text.startsWith('+')) {
    if (!defaultCountry) return null;
    const resolved = resolveRegion(defaultCountry);
    if (typeof resolved === 'string') throw new RangeError(`default country for phone numbers: ${resolved}`);
    region = resolved;
  }
  // extract: false — the whole value must be the number, not a number found somewhere in a text.
  const parsed = parsePhoneNumberFromString(text, { ...region, extract: false });
  return parsed?.isValid() ? parsed.number : null;
}

/** Meta's rule: digits only — no `+`, no leading zeros — country code included. */
export function normalizePhoneDigits(value: string | null | undefined, defaultCountry?: string): string | null {
  const e164 = normalizePhoneE164(value, defaultCountry);
  return e164 === null ? null : e164.slice(1);
}
