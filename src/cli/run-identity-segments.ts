/**
 * The tail of a full `cdp run` in a project with segments/*.yml: identity resolution (the
 * profiles segments are built over), then the segments — models feed identity, identity's
 * profiles feed segments. A project without segments keeps `cdp run` to models (identity
 * then runs on its own with `cdp identity run`). False when either step failed. A broken
 * segment definition throws its one-line config error before any segment is built.
 */
import { hasIdentityFile, loadIdentityPlan } from '../identity';
import type { Project } from '../project';
import { hasAnySegments, loadSegmentsPlan, type SegmentsRunResult } from '../segments';
import type { Warehouse } from '../warehouse';
import { runIdentityWithOutput } from './identity-command';
import type { Output } from './output';
import { runSegmentsWithOutput } from './segments-command';

export async function runIdentityAndSegments(project: Project, warehouse: Warehouse, out: Output, options: { fullRefresh: boolean; skipIdentity?: boolean }): Promise<boolean> {
  if (!(await hasAnySegments(project))) return true;
  if (hasIdentityFile(project) && !options.skipIdentity) {
    const plan = loadIdentityPlan(project, warehouse.dialect, process.env);
    const result = await runIdentityWithOutput(warehouse, plan, { fullRefresh: options.fullRefresh }, out);
    if (!result.ok) return false;
  }
  return (await buildProjectSegments(project, warehouse, out))?.ok ?? true;
}

/** Undefined when the project has no segments. */
export async function buildProjectSegments(project: Project, warehouse: Warehouse, out: Output): Promise<SegmentsRunResult | undefined> {
  if (!(await hasAnySegments(project))) return undefined;
  const plan = await loadSegmentsPlan(project, warehouse, process.env);
  return runSegmentsWithOutput(warehouse, plan, out);
}
