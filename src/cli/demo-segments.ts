/**
 * The segments part of `cdp demo`: after identity has built profiles, materialises the demo's
 * segments (examples/demo/segments/) and prints their sizes, the lifecycle priority list and
 * how to explore them. Skipped when the project has no segments.
 */
import type { Project } from '../project';
import type { Warehouse } from '../warehouse';
import type { Output } from './output';
import { buildProjectSegments } from './run-identity-segments';

/** False when a segment failed. */
export async function printDemoSegments(project: Project, warehouse: Warehouse, out: Output): Promise<boolean> {
  out.line('');
  const result = await buildProjectSegments(project, warehouse, out);
  if (!result) return true;
  out.line(`  try: cdp --project-dir ${project.dir} segments size churn_risk        # the count after each condition`);
  out.line(`       cdp --project-dir ${project.dir} segments preview vip            # sample members, PII masked`);
  out.line(`       cdp --project-dir ${project.dir} segments overlap vip churn_risk cart_abandoners`);
  return result.ok;
}
