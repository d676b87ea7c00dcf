/**
 * The server's one seam to the segments module (issue 4, built alongside). Until its public
 * API lands, memberships are empty and segment routes say segments are not available.
 */
import type { CdpRuntime } from '../scheduler';

export async function segmentMemberships(_runtime: CdpRuntime, _profileId: string): Promise<string[]> {
  return [];
}
