/**
 * Names of every table segments read or write, in one place:
 *  - inputs: identity's outputs (profiles, accounts, account_memberships, identity_graph);
 *  - outputs (segments.yml `schema`, default identity's output schema): one membership table
 *    per segment `seg_<name>`, `segment_membership_history`, and one table per priority list
 *    `segment_priority_<list>`; staging tables `seg_<name>__next` live only inside a run.
 */
import type { TableRef } from '../warehouse';
import { identityTables, type IdentityPlan } from '../identity';

export interface SegmentTables {
  profiles: TableRef;
  accounts: TableRef;
  memberships: TableRef;
  graph: TableRef;
  schema: string;
  history: TableRef;
  members(segment: string): TableRef;
  next(segment: string): TableRef;
  priority(list: string): TableRef;
}

export function segmentTables(identity: Pick<IdentityPlan, 'outputSchema' | 'stateSchema'>, schema: string): SegmentTables {
  const id = identityTables(identity);
  return {
    profiles: id.profiles,
    accounts: id.accounts,
    memberships: id.memberships,
    graph: id.graph,
    schema,
    history: { schema, name: 'segment_membership_history' },
    members: (segment) => ({ schema, name: `seg_${segment}` }),
    next: (segment) => ({ schema, name: `seg_${segment}__next` }),
    priority: (list) => ({ schema, name: `segment_priority_${list}` }),
  };
}
