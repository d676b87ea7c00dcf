/**
 * Country calling codes and national significant number lengths, for turning a phone number
 * without a +country prefix into E.164. Only what normalisation needs: a number written
 * nationally gets the default country's code, minus a national trunk '0' where the country
 * uses one. Countries not listed here can be added; E.164 itself allows at most 15 digits.
 */
export interface PhoneCountry {
  code: string;
  /** National significant number lengths (without the trunk 0). */
  minLength: number;
  maxLength: number;
  /** Numbers written nationally start with 0 (dropped in E.164). */
  trunkZero: boolean;
}

export const phoneCountries: Readonly<Record<string, PhoneCountry>> = {
  US: { code: '1', minLength: 10, maxLength: 10, trunkZero: false },
  CA: { code: '1', minLength: 10, maxLength: 10, trunkZero: false },
  GB: { code: '44', minLength: 9, maxLength: 10, trunkZero: true },
  DE: { code: '49', minLength: 6, maxLength: 13, trunkZero: true },
  FR: { code: '33', minLength: 9, maxLength: 9, trunkZero: true },
  NL: { code: '31', minLength: 9, maxLength: 9, trunkZero: true },
  ES: { code: '34', minLength: 9, maxLength: 9, trunkZero: false },
  IT: { code: '39', minLength: 6, maxLength: 11, trunkZero: false },
  AU: { code: '61', minLength: 9, maxLength: 9, trunkZero: true },
  TH: { code: '66', minLength: 8, maxLength: 9, trunkZero: true },
  RU: { code: '7', minLength: 10, maxLength: 10, trunkZero: false },
  CN: { code: '86', minLength: 11, maxLength: 11, trunkZero: false },
  JP: { code: '81', minLength: 9, maxLength: 10, trunkZero: true },
  IN: { code: '91', minLength: 10, maxLength: 10, trunkZero: true },
  BR: { code: '55', minLength: 10, maxLength: 11, trunkZero: true },
  MX: { code: '52', minLength: 10, maxLength: 10, trunkZero: false },
};

export function phoneCountry(iso: string): PhoneCountry | undefined {
  return phoneCountries[iso.toUpperCase()];
}
