/**
 * One identifier type's rules, resolved from identity.yml: its kind, priority rank, limit,
 * normalisation settings and the blocked values that apply to it (defaults + global +
 * its own). Both the SQL normaliser and the in-process one read this, so they cannot drift.
 */
import { configError } from '../errors';
import { defaultBlockedPatterns, defaultBlockedValues } from './default-blocklist';
import { identifierKinds, type IdentifierKind, type IdentitySpec } from './identity-spec';
import { phoneCountry, type PhoneCountry } from './phone-countries';

export interface IdentifierRule {
  name: string;
  kind: IdentifierKind;
  /** 0 = strongest. */
  rank: number;
  limit?: number;
  phone?: PhoneCountry;
  trim: boolean;
  lowercase: boolean;
  pattern?: string;
  /** Lower-cased exact values. */
  blockedValues: string[];
  blockedPatterns: string[];
}

export function identifierRules(spec: IdentitySpec, file = 'identity.yml'): IdentifierRule[] {
  const names = Object.keys(spec.identifiers);
  const order = [...(spec.priority ?? []), ...names.filter((n) => !(spec.priority ?? []).includes(n))];
  return order.map((name, rank) => {
    const config = spec.identifiers[name];
    const kind: IdentifierKind = config.type ?? ((identifierKinds as readonly string[]).includes(name) ? (name as IdentifierKind) : 'custom');
    let phone: PhoneCountry | undefined;
    if (kind === 'phone') {
      phone = phoneCountry(config.default_country);
      if (!phone) throw configError(file, `identifiers.${name}.default_country: no calling code known for '${config.default_country}'`, 'use one of US, CA, GB, DE, FR, NL, ES, IT, AU, TH, RU, CN, JP, IN, BR, MX');
    }
    const defaults = spec.blocked.defaults;
    return {
      name,
      kind,
      rank,
      limit: config.limit,
      phone,
      trim: kind === 'custom' ? config.trim : true,
      lowercase: kind === 'email' || kind === 'device_id' ? true : kind === 'custom' ? (config.lowercase ?? true) : false,
      pattern: kind === 'custom' ? config.pattern : undefined,
      blockedValues: unique([...(defaults ? defaultBlockedValues : []), ...spec.blocked.values, ...config.blocked.values].map((v) => v.trim().toLowerCase())),
      blockedPatterns: unique([
        ...(defaults ? [...(defaultBlockedPatterns.all ?? []), ...(defaultBlockedPatterns[kind] ?? [])] : []),
        ...spec.blocked.patterns,
        ...config.blocked.patterns,
      ]),
    };
  });
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
