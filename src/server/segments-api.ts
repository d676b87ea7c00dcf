/**
 * The server's one seam to the segments module: a profile's current segments (the open rows
 * of segment_membership_history; none before the first segments run).
 */
import { currentSegmentsOf } from '../segments';
import type { CdpRuntime } from '../scheduler';

export async function segmentMemberships(runtime: CdpRuntime, profileId: string): Promise<string[]> {
  return currentSegmentsOf(runtime.warehouse, runtime.project, profileId, runtime.env);
}
