/** The sync engine: definitions, plan (diff in the warehouse), execute, commit, run records. */
export * from './sync-schema';
export * from './sync-counts';
export { loadSyncProject, loadDestinations, loadSync, storableSync, type LoadedSync, type LoadedDestination, type SyncProject, DESTINATIONS_FILE, CONSENT_FILE, SYNCS_DIR } from './load-syncs';
export { compileMapping, type CompiledMapping } from './mapping';
export { planSync, planSamples, PLAN_KINDS, type SyncPlan, type SyncTarget, type PlanOptions, type PlanSample, type PlanKind } from './planner';
export { resolveSyncTarget, type RelationLookup } from './sync-target';
export { runSync, dryRunSync, type SyncRunOptions, type SyncRunResult, type SyncRunEnv } from './run-sync';
export { saveSyncDefinitions, storedSyncs, syncRuns, runMatchRate, type SyncRunRecord, type SyncRunStatus } from './sync-records';
export { syncTables, dropSyncTables, type SyncTables } from './state-tables';
export { createRequestBudget, budgetFor, budgetFromRate, type RequestBudget } from './rate-budget';
export { rejectedRows, type RejectedRow } from './rejected-rows';
