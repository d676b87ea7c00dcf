/**
 * The shape of `identity.yml` (zod; every type is inferred from here). It says which
 * identifier types exist and how each is normalised, which values are junk, how many of a
 * type one profile may hold and which identifiers win a conflict, where identifiers come
 * from, how traits merge, and where B2B accounts and memberships live.
 *
 * Invariants checked here, so the SQL steps can trust them: every identifier, trait and
 * priority entry a source names is declared; each source reads exactly one relation; names
 * are SQL identifiers; regexes compile.
 */
import { z } from 'zod';

const sqlName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be a SQL identifier (letters, digits, _) — rename it, e.g. my_name' });

const regex = z.string().refine(
  (pattern) => {
    try {
      new RegExp(pattern);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'is not a valid regular expression — check brackets and escapes' },
);

export const identifierKinds = ['email', 'phone', 'user_id', 'anonymous_id', 'device_id', 'crm_id', 'custom'] as const;
export type IdentifierKind = (typeof identifierKinds)[number];

export const blockedSchema = z.strictObject({
  /** Exact values, compared case-insensitively after normalisation. */
  values: z.array(z.string()).default([]),
  /** Regexes (RE2/POSIX common subset) matched against the normalised value. */
  patterns: z.array(regex).default([]),
});

export const identifierSchema = z.strictObject({
  /** Defaults to the identifier's name when that is a known kind, else `custom`. */
  type: z.enum(identifierKinds).optional(),
  /** At most this many distinct values of this type in one profile. */
  limit: z.number().int().positive().optional(),
  /** Phone only: the country assumed for numbers without a +country code (ISO 3166 alpha-2). */
  default_country: z.string().regex(/^[A-Za-z]{2}$/, { message: 'must be a two-letter country code — e.g. US, GB, DE' }).default('US'),
  /** Custom only (email/phone/ids have fixed rules). */
  trim: z.boolean().default(true),
  lowercase: z.boolean().optional(),
  /** Custom: values that do not match are rejected as invalid. */
  pattern: regex.optional(),
  blocked: blockedSchema.default({ values: [], patterns: [] }),
});

/** Where rows come from: a model of the project, a declared source (`group.table`) or a table (`schema.table`). */
const relationFields = {
  model: sqlName.optional(),
  source: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be group.table as declared under sources: in cdp.yml — e.g. raw.web_events' }).optional(),
  table: z.string().regex(/^([A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be schema.table or table — e.g. analytics.contacts' }).optional(),
};

export const traitRules = ['latest', 'first', 'source_priority', 'max', 'min', 'sum', 'count', 'distinct_list'] as const;
export type TraitRule = (typeof traitRules)[number];
export const traitTypes = ['string', 'integer', 'float', 'boolean', 'timestamp'] as const;

export const traitSchema = z.strictObject({
  rule: z.enum(traitRules).default('latest'),
  /** The type every source's column is cast to before merging. */
  type: z.enum(traitTypes).default('string'),
});

export const identitySourceSchema = z.strictObject({
  name: sqlName,
  ...relationFields,
  /** identifier name → column. */
  identifiers: z.record(sqlName, sqlName).refine((m) => Object.keys(m).length > 0, { message: 'needs at least one identifier — e.g. identifiers: { email: email }' }),
  /** When the row was observed; rows without one count as observed at the run. */
  timestamp: sqlName.optional(),
  /** trait name → column. */
  traits: z.record(sqlName, sqlName).default({}),
  /** Lower wins conflicts; default is the source's position in the list. */
  priority: z.number().int().nonnegative().optional(),
});

export const computedTraitsSchema = z.strictObject({
  ...relationFields,
  /** `profile_id` (the model has one) or an identifier type and the column holding it. */
  key: z.union([z.literal('profile_id'), z.strictObject({ identifier: sqlName, column: sqlName })]).default('profile_id'),
  /** Columns to bring in; with an identifier key, rows of one profile are combined by `rule`. */
  columns: z.array(z.union([sqlName, z.strictObject({ column: sqlName, as: sqlName.optional(), rule: z.enum(['max', 'min', 'sum']).default('max') })])).min(1),
});

export const accountsSchema = z.strictObject({
  ...relationFields,
  /** The account's key: a CRM account id or a domain. */
  key: sqlName,
  /** A domain column, normalised (lower, trim, no www.). */
  domain: sqlName.optional(),
  traits: z.record(sqlName, sqlName).default({}),
});

export const membershipsSchema = z.strictObject({
  ...relationFields,
  /** Which identifier the person column holds, and the column. */
  identifier: sqlName,
  column: sqlName,
  account_key: sqlName,
  valid_from: sqlName.optional(),
  valid_to: sqlName.optional(),
});

export const identitySpecSchema = z
  .strictObject({
    /** Where outputs build; default: the warehouse's default schema. */
    schema: sqlName.optional(),
    identifiers: z.record(sqlName, identifierSchema).refine((m) => Object.keys(m).length > 0, { message: 'declare at least one identifier — e.g. identifiers: { email: {} }' }),
    /** Identifier names, strongest first; default: the order under identifiers. */
    priority: z.array(sqlName).optional(),
    blocked: z
      .strictObject({ defaults: z.boolean().default(true), values: z.array(z.string()).default([]), patterns: z.array(regex).default([]) })
      .default({ defaults: true, values: [], patterns: [] }),
    sources: z.array(identitySourceSchema).min(1, { message: 'needs at least one source — add one under sources:' }),
    traits: z.record(sqlName, traitSchema).default({}),
    computed_traits: z.array(computedTraitsSchema).default([]),
    accounts: accountsSchema.optional(),
    memberships: membershipsSchema.optional(),
  })
  .superRefine((spec, ctx) => {
    const identifiers = Object.keys(spec.identifiers);
    const known = (name: string) => identifiers.includes(name);
    const list = identifiers.join(', ');
    spec.priority?.forEach((name, i) => {
      if (!known(name)) ctx.addIssue({ code: 'custom', path: ['priority', i], message: `unknown identifier '${name}' — declare it under identifiers: (${list})` });
    });
    const relations: { path: (string | number)[]; r: { model?: string; source?: string; table?: string } }[] = [
      ...spec.sources.map((s, i) => ({ path: ['sources', i], r: s })),
      ...spec.computed_traits.map((c, i) => ({ path: ['computed_traits', i], r: c })),
      ...(spec.accounts ? [{ path: ['accounts'], r: spec.accounts }] : []),
      ...(spec.memberships ? [{ path: ['memberships'], r: spec.memberships }] : []),
    ];
    for (const { path, r } of relations) {
      const count = [r.model, r.source, r.table].filter((x) => x !== undefined).length;
      if (count !== 1) ctx.addIssue({ code: 'custom', path, message: 'must read exactly one of model, source or table — e.g. model: stg_orders' });
    }
    const seen = new Set<string>();
    spec.sources.forEach((source, i) => {
      if (seen.has(source.name)) ctx.addIssue({ code: 'custom', path: ['sources', i, 'name'], message: `source name '${source.name}' is used twice — give each source its own name` });
      seen.add(source.name);
      for (const name of Object.keys(source.identifiers)) {
        if (!known(name)) ctx.addIssue({ code: 'custom', path: ['sources', i, 'identifiers', name], message: `unknown identifier '${name}' — declare it under identifiers: (${list})` });
      }
      for (const name of Object.keys(source.traits)) {
        if (!(name in spec.traits)) ctx.addIssue({ code: 'custom', path: ['sources', i, 'traits', name], message: `unknown trait '${name}' — declare it under traits: with its merge rule` });
      }
    });
    spec.computed_traits.forEach((c, i) => {
      if (c.key !== 'profile_id' && !known(c.key.identifier)) {
        ctx.addIssue({ code: 'custom', path: ['computed_traits', i, 'key', 'identifier'], message: `unknown identifier '${c.key.identifier}' — declare it under identifiers: (${list})` });
      }
    });
    if (spec.memberships && !known(spec.memberships.identifier)) {
      ctx.addIssue({ code: 'custom', path: ['memberships', 'identifier'], message: `unknown identifier '${spec.memberships.identifier}' — declare it under identifiers: (${list})` });
    }
    if (spec.memberships && !spec.accounts) {
      ctx.addIssue({ code: 'custom', path: ['memberships'], message: 'memberships need accounts — add an accounts: block' });
    }
  });

export type IdentitySpec = z.output<typeof identitySpecSchema>;
export type IdentifierSpec = z.output<typeof identifierSchema>;
export type IdentitySourceSpec = z.output<typeof identitySourceSchema>;
export type TraitSpec = z.output<typeof traitSchema>;
export type ComputedTraitsSpec = z.output<typeof computedTraitsSchema>;
export type AccountsSpec = z.output<typeof accountsSchema>;
export type MembershipsSpec = z.output<typeof membershipsSchema>;
export type RelationSpec = { model?: string; source?: string; table?: string };
