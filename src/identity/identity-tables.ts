/**
 * Names of every table identity resolution reads or writes, in one place.
 *  - outputs (identity.schema or the default schema): what users and segments query;
 *  - state (state_schema): what makes ids stable and runs incremental — the id registry,
 *    every profile id ever issued, stored edges, rejections, watermarks, the run log;
 *  - scratch (state_schema, `_idr_` prefix): per-run intermediates, dropped at the end.
 */
import type { TableRef } from '../warehouse';
import type { IdentityPlan } from './identity-plan';

export interface IdentityTables {
  graph: TableRef;
  profiles: TableRef;
  merges: TableRef;
  rejections: TableRef;
  accounts: TableRef;
  memberships: TableRef;
  /** identifier → profile_id and raw component of the last run (the stable-id memory). */
  registry: TableRef;
  /** Every profile id ever issued, with when; never shrinks, so an id is never reused. */
  profileIds: TableRef;
  /** Aggregated edges: (a, b, source) with first/last seen. */
  edges: TableRef;
  /** Blocked and invalid values seen, per source. */
  blocked: TableRef;
  /** Edges a limit rejected, by component. */
  limitRejections: TableRef;
  watermarks: TableRef;
  runs: TableRef;
  scratch: (name: string) => TableRef;
  scratchSchema: string;
}

export function identityTables(plan: Pick<IdentityPlan, 'outputSchema' | 'stateSchema'>): IdentityTables {
  const out = (name: string): TableRef => ({ schema: plan.outputSchema, name });
  const state = (name: string): TableRef => ({ schema: plan.stateSchema, name });
  return {
    graph: out('identity_graph'),
    profiles: out('profiles'),
    merges: out('identity_merges'),
    rejections: out('identity_rejections'),
    accounts: out('accounts'),
    memberships: out('account_memberships'),
    registry: state('identity_registry'),
    profileIds: state('identity_profile_ids'),
    edges: state('identity_edges'),
    blocked: state('identity_blocked'),
    limitRejections: state('identity_limit_rejections'),
    watermarks: state('identity_watermarks'),
    runs: state('identity_runs'),
    scratch: (name) => state(`_idr_${name}`),
    scratchSchema: plan.stateSchema,
  };
}
