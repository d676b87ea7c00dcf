/**
 * The server's one seam to the segments module for profiles: where current memberships are
 * (the open rows of segment_membership_history), and whether that table exists yet (none
 * before the first segments run). Existence is remembered once seen — the table is never
 * dropped — and re-checked at most every 2 s while absent, so a profile lookup stays one
 * query in steady state.
 */
import { membershipHistoryRef } from '../segments';
import type { CdpRuntime } from '../scheduler';
import type { TableRef } from '../warehouse';

const RECHECK_ABSENT_MS = 2_000;

export function membershipHistory(runtime: CdpRuntime): () => Promise<TableRef | undefined> {
  // segments.yml / identity.yml name the schema: read once, as the identity plan is.
  const ref = membershipHistoryRef(runtime.project, runtime.env);
  let exists = false;
  let checkedAt = 0;
  return async () => {
    if (!exists && Date.now() - checkedAt > RECHECK_ABSENT_MS) {
      checkedAt = Date.now();
      exists = (await runtime.warehouse.query(runtime.warehouse.dialect.relationKindSql(ref))).length > 0;
    }
    return exists ? ref : undefined;
  };
}
