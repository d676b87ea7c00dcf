/**
 * The scheduler's one seam to the segments module (issue 4, built alongside): materialise
 * every segment and say which succeeded. Until that module exposes a build function, a
 * segments job reports clearly that there is nothing to build.
 */
import type { CdpRuntime } from './runtime';

export interface SegmentsBuild {
  ok: boolean;
  segments: string[];
  message: string;
}

export async function buildSegments(_runtime: CdpRuntime, _signal: AbortSignal): Promise<SegmentsBuild> {
  return { ok: false, segments: [], message: 'segments are not built by this version yet' };
}
