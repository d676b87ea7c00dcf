/**
 * The scheduler's one seam to the segments module: materialise every segment and say which
 * succeeded. Planned with `keepGoing`: a broken definition (an API segment whose trait column
 * was dropped, a cycle) and what refers to it are reported as failed and keep their last good
 * table, while every healthy segment is built. Errors of the setup (segments.yml, identity,
 * no profiles table yet) still build nothing.
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
    const plan = await loadSegmentsPlan(runtime.project, runtime.warehouse, runtime.env, { control: runtime.control, keepGoing: true });
    const result = await runSegments(runtime.warehouse, plan);
    const built = result.results.filter((r) => r.status === 'success').map((r) => r.segment);
    const failed = result.results.filter((r) => r.status !== 'success');
    const lists = result.priorityLists.filter((r) => r.status !== 'success');
    const message =
      `${built.length} segment(s) built` +
      (failed.length ? `, ${failed.length} not built: ${failed.map((f) => `${f.segment} (${f.message ?? f.status})`).join('; ')}` : '') +
      (lists.length ? `; priority list(s) not built: ${lists.map((l) => `${l.segment} (${l.message ?? l.status})`).join('; ')}` : '');
    return { ok: result.ok, segments: built, message };
  } catch (error) {
    return { ok: false, segments: [], message: isCdpError(error) ? error.toLine() : messageOf(error) };
  }
}
