/** Identity resolution: identity.yml → graph, stable profiles, B2B accounts, in the warehouse. */
export { loadIdentityPlan, hasIdentityFile, IDENTITY_FILE, type IdentityPlan, type PlannedSource } from './identity-plan';
export { identitySpecSchema, identifierKinds, traitRules, type IdentitySpec } from './identity-spec';
export { identifierRules, type IdentifierRule } from './identifier-rules';
export { normalizeIdentifier, type Normalized } from './normalize-value';
export { normalizedSql, blockReasonSql } from './normalize-sql';
export { resolveLimits, compareLimitEdges, type LimitEdge, type LimitRules } from './limit-resolver';
export { runIdentity, type IdentityRunOptions, type IdentityRunResult, type IdentityStepResult, type IdentityCounts, type ComponentsStrategy } from './run-identity';
export { explainIdentifier, identityStats, parseLookup, mergePathOf, mergePathSql, mergePathSchema, mergePathJsonSchema, type ExplainResult, type IdentityStats, type MergePath, type MergeStep } from './inspect-identity';
export { identityTables, type IdentityTables } from './identity-tables';
