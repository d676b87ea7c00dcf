/**
 * The one schema of a segment's rule tree (files, the REST API and the UI all use it).
 * A node is recognised by its key: `all` / `any` / `not` combine; `trait`, `account_trait`,
 * `event`, `account_members`, `in_segment` and `sql` are conditions. Types are inferred here.
 *
 * Invariants: the shape is purely syntactic — whether a trait exists or an operator fits its
 * type needs the warehouse's catalog and is checked by `check-rules.ts`, which reports the
 * rule's path (`rules.all[1].op`) so a file error can point at its line.
 */
import { z } from 'zod';

export const dateUnits = ['minute', 'hour', 'day', 'week', 'month', 'year'] as const;
export type WindowUnit = (typeof dateUnits)[number];

const unitSchema = z.enum(dateUnits, { error: 'a window needs a unit: minute, hour, day, week, month or year — e.g. unit: day' });

export const comparisonOps = ['eq', 'neq', 'in', 'not_in', 'contains', 'starts_with', 'is_null', 'is_not_null', 'gt', 'gte', 'lt', 'lte', 'between'] as const;
/** Relative dates: within the last N units, more than N units ago, between N and M units ago. */
export const relativeDateOps = ['within_last', 'not_within_last', 'between_ago'] as const;
export const operators = [...comparisonOps, ...relativeDateOps] as const;
export type Operator = (typeof operators)[number];

const scalar = z.union([z.string(), z.number(), z.boolean()]);
export type RuleScalar = z.infer<typeof scalar>;

/** A comparison of one column (a trait, an account trait or an event property). */
const comparisonFields = {
  op: z.enum(operators),
  /** A scalar; a list for in / not_in; [low, high] for between and between_ago; absent for is_null. */
  value: z.union([scalar, z.array(scalar)]).optional(),
  /** Only with within_last / not_within_last / between_ago. */
  unit: unitSchema.optional(),
};

export const traitConditionSchema = z.strictObject({ trait: z.string().min(1), ...comparisonFields });
export const accountTraitConditionSchema = z.strictObject({ account_trait: z.string().min(1), ...comparisonFields });
export const propertyFilterSchema = z.strictObject({ property: z.string().min(1), ...comparisonFields });

export const windowSchema = z.strictObject({ last: z.number().int().positive(), unit: unitSchema });

export const timesSchema = z.union([
  z.strictObject({ at_least: z.number().int().min(0) }),
  z.strictObject({ at_most: z.number().int().min(0) }),
  z.strictObject({ exactly: z.number().int().min(0) }),
]);

export const aggregateSchema = z.strictObject({
  fn: z.enum(['sum', 'avg', 'min', 'max', 'count']),
  property: z.string().min(1),
  op: z.enum(['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'between']),
  value: z.union([z.number(), z.tuple([z.number(), z.number()])]),
});

export const eventConditionSchema = z.strictObject({
  /** The event's name (the events source's event column), or the source's fixed name. */
  event: z.string().min(1),
  /** Which events source of segments.yml; default: the first one. */
  source: z.string().min(1).optional(),
  where: z.array(propertyFilterSchema).default([]),
  /** Default: at least once. */
  times: timesSchema.optional(),
  within: windowSchema.optional(),
  aggregate: aggregateSchema.optional(),
});

export const inSegmentConditionSchema = z.strictObject({ in_segment: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/) });
/** Escape hatch: a boolean SQL expression over the subject row, aliased `p` (profiles) or `a` (accounts). */
export const sqlConditionSchema = z.strictObject({ sql: z.string().min(1) });

export type TraitCondition = z.infer<typeof traitConditionSchema>;
export type AccountTraitCondition = z.infer<typeof accountTraitConditionSchema>;
export type PropertyFilter = z.infer<typeof propertyFilterSchema>;
export type EventCondition = z.infer<typeof eventConditionSchema>;
export type EventWindow = z.infer<typeof windowSchema>;
export type Times = z.infer<typeof timesSchema>;
export type Aggregate = z.infer<typeof aggregateSchema>;
export type InSegmentCondition = z.infer<typeof inSegmentConditionSchema>;
export type SqlCondition = z.infer<typeof sqlConditionSchema>;
export type Comparison = Pick<TraitCondition, 'op' | 'value' | 'unit'>;

/** Written out because a recursive zod schema cannot infer its own type. */
export type Rule =
  | { all: Rule[] }
  | { any: Rule[] }
  | { not: Rule }
  | TraitCondition
  | AccountTraitCondition
  | EventCondition
  | { account_members: { at_least: number; where: Rule } }
  | InSegmentCondition
  | SqlCondition;

export const segmentRuleSchema: z.ZodType<Rule> = z.lazy(() =>
  z.union([
    z.strictObject({ all: z.array(segmentRuleSchema).min(1) }),
    z.strictObject({ any: z.array(segmentRuleSchema).min(1) }),
    z.strictObject({ not: segmentRuleSchema }),
    traitConditionSchema,
    accountTraitConditionSchema,
    eventConditionSchema,
    z.strictObject({ account_members: z.strictObject({ at_least: z.number().int().min(1), where: segmentRuleSchema }) }),
    inSegmentConditionSchema,
    sqlConditionSchema,
  ]),
);

/** Which kind of node a raw (unvalidated) value is, by its key; undefined when none fits. */
export const ruleKinds = ['all', 'any', 'not', 'trait', 'account_trait', 'event', 'account_members', 'in_segment', 'sql'] as const;
export type RuleKind = (typeof ruleKinds)[number];

export function ruleKindOf(node: unknown): RuleKind | undefined {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
  return ruleKinds.find((k) => k in node);
}

/** The schema of one node with its children left unchecked (the walker recurses itself). */
export const shallowRuleSchemas: Record<RuleKind, z.ZodType> = {
  all: z.strictObject({ all: z.array(z.unknown()).min(1) }),
  any: z.strictObject({ any: z.array(z.unknown()).min(1) }),
  not: z.strictObject({ not: z.unknown() }),
  trait: traitConditionSchema,
  account_trait: accountTraitConditionSchema,
  event: eventConditionSchema,
  account_members: z.strictObject({ account_members: z.strictObject({ at_least: z.number().int().min(1), where: z.unknown() }) }),
  in_segment: inSegmentConditionSchema,
  sql: sqlConditionSchema,
};
