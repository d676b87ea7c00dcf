/**
 * The shapes of `segments/*.yml` (one segment a file, named by the file) and of the optional
 * project-wide `segments.yml` (events sources, global holdout, priority lists, output schema).
 * Types are inferred here. A segment's `rules` is left `unknown` at this level: the rule
 * walker (check-rules.ts) validates it node by node so errors carry the rule's exact path.
 */
import { z } from 'zod';

const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be an identifier (letters, digits, _) — e.g. vip_customers' });

const percent = z.number().gt(0).lt(100);

/** The keys of a segment file (no cross-field checks: see `checkSegmentFile`). */
export const segmentFileShape = {
  description: z.string().optional(),
  /** Who the members are: person profiles (profile_id) or B2B accounts (account_id). */
  over: z.enum(['profiles', 'accounts']).default('profiles'),
  /** A query returning `profile_id` (or `account_id` over accounts), plus optional columns. */
  sql: z.string().min(1).optional(),
  rules: z.unknown().optional(),
  /** Deterministic percentage groups, e.g. { variant_a: 45, variant_b: 45, control: 10 }; must add up to 100. */
  splits: z.record(identifier, z.number().gt(0).max(100)).optional(),
  /** Changing it reshuffles the groups; default: the segment's name. */
  split_salt: z.string().min(1).optional(),
  /** Opt in to the global holdout (segments.yml `holdout`): its members are left out. */
  exclude_holdout: z.boolean().default(false),
  /** Columns `cdp segments preview` shows by default. */
  preview: z.array(z.string().min(1)).optional(),
};

type SegmentFileFields = z.infer<z.ZodObject<typeof segmentFileShape>>;

/**
 * The cross-field checks of a segment file, apart so that a body holding a segment file plus
 * more (the API's `{ name, ...file }`) runs exactly the same ones: zod cannot extend an object
 * once it is refined.
 */
export function checkSegmentFile(s: SegmentFileFields, ctx: z.core.$RefinementCtx<SegmentFileFields>): void {
  if ((s.sql === undefined) === (s.rules === undefined)) {
    ctx.addIssue({ code: 'custom', path: [], message: 'a segment has either sql: or rules: — write exactly one of them' });
  }
  if (s.splits) {
    const total = Object.values(s.splits).reduce((a, b) => a + b, 0);
    if (Math.abs(total - 100) > 1e-9) ctx.addIssue({ code: 'custom', path: ['splits'], message: `the split percentages add up to ${total}, not 100 — adjust them so they total 100` });
    for (const [name, p] of Object.entries(s.splits)) {
      if (Math.round(p * 100) !== p * 100) ctx.addIssue({ code: 'custom', path: ['splits', name], message: `${p}% has more than two decimals — round it to 0.01` });
    }
  }
}

export const segmentFileSchema = z.strictObject(segmentFileShape).superRefine(checkSegmentFile);

export type SegmentFile = z.infer<typeof segmentFileSchema>;

const relation = {
  model: identifier.optional(),
  /** `group.table` declared under sources: in cdp.yml. */
  source: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be group.table — e.g. raw.web_events' }).optional(),
  /** `schema.table` or `table` in the default schema. */
  table: z.string().regex(/^([A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be schema.table or table' }).optional(),
};

export const eventsSourceSchema = z
  .strictObject({
    ...relation,
    /** How a row finds its person: `profile_id` when the table has it, else an identity.yml identifier type and the column holding it. */
    identifier: z.union([z.literal('profile_id'), z.strictObject({ type: identifier, column: identifier })]),
    /** The column naming the event (page_view, add_to_cart …)… */
    event: identifier.optional(),
    /** …or one fixed name for every row (orders as `order_placed`). */
    name: identifier.optional(),
    timestamp: identifier,
  })
  .superRefine((s, ctx) => {
    const given = [s.model, s.source, s.table].filter((x) => x !== undefined).length;
    if (given !== 1) ctx.addIssue({ code: 'custom', path: [], message: 'an events source names exactly one of model:, source: or table: — pick one' });
    if ((s.event === undefined) === (s.name === undefined)) ctx.addIssue({ code: 'custom', path: [], message: 'an events source has either event: (the column naming events) or name: (one fixed name) — write one of them' });
  });

export type EventsSourceSpec = z.infer<typeof eventsSourceSchema>;

export const segmentsConfigSchema = z.strictObject({
  /** Where membership tables and the history build; default: identity's output schema. */
  schema: identifier.optional(),
  /** Relative dates count back from here (ISO date); default: now. Pin it for a frozen data set. */
  as_of: z.union([z.string(), z.date()]).optional(),
  events: z.record(identifier, eventsSourceSchema).default({}),
  /** One global holdout: this share of people is left out of every segment that opts in. */
  holdout: z.strictObject({ percent, salt: z.string().min(1).default('cdp_global_holdout') }).optional(),
  /** Ordered segments: a person belongs only to the first (highest) one that holds them. */
  priority_lists: z.record(identifier, z.array(identifier).min(2)).default({}),
  /** Columns masked in previews besides the built-in PII names (email, phone, names, identifiers…). */
  pii: z.array(z.string()).default([]),
});

export type SegmentsConfig = z.infer<typeof segmentsConfigSchema>;
