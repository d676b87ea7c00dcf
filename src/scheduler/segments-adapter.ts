/**
 * The scheduler's one seam to the segments module: materialise every segment (validated
 * first: a broken definition builds nothing) and say which succeeded.
 */
import { isCdpError, messageOf } from '../errors';
import { hasAnySegments, loadSegmentsPlan, runSegments } from '../segments';
import type { CdpRuntime } from './runtime';

export interface SegmentsBuild {
  ok: boolean;
  segments: string[];
  message: string;
}

export async function buildSegments(runtime: CdpRuntime, _signal: AbortSignal): Promise<SegmentsBuild> {
  if (!(await hasAnySegments(runtime.project, runtime.control))) return { ok: true, segments: [], message: 'the project has no segments' };
  try {
    const plan = await loadSegmentsPlan(runtime.project, runtime.warehouse, runtime.env, { control: runtime.control });
    const result = await runSegments(runtime.warehouse, plan);
    const built = result.results.filter((r) => r.status === 'success').map((r) => r.segment);
    const failed = result.results.filter((r) => r.status !== 'success');
    const message = `${built.length} segment(s) built${failed.length ? `, ${failed.length} failed: ${failed.map((f) => `${f.segment} (${f.message ?? f.status})`).join('; ')}` : ''}`;
    return { ok: result.ok, segments: built, message };
  } catch (error) {
    return { ok: false, segments: [], message: isCdpError(error) ? error.toLine() : messageOf(error) };
  }
}
