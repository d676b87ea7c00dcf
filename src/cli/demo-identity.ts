/**
 * The identity part of `cdp demo`: resolves the demo's messy raw records into profiles
 * (examples/demo/identity.yml) and prints what that did — raw records vs profiles, the
 * largest cluster and the rejections by reason. Skipped when the project has no identity.yml.
 */
import { hasIdentityFile, identityStats, loadIdentityPlan } from '../identity';
import type { Project } from '../project';
import type { Warehouse } from '../warehouse';
import { runIdentityWithOutput } from './identity-command';
import { formatCount, type Output } from './output';

/** False when the identity run failed. */
export async function printIdentityHighlights(project: Project, warehouse: Warehouse, rawRows: number, out: Output): Promise<boolean> {
  if (!hasIdentityFile(project)) return true;
  const plan = loadIdentityPlan(project, warehouse.dialect, process.env);
  out.line('');
  const result = await runIdentityWithOutput(warehouse, plan, { fullRefresh: true }, out);
  if (!result.ok) return false;
  const stats = await identityStats(warehouse, plan, { top: 1 });
  out.line('');
  out.line(`Identity: ${formatCount(rawRows)} raw records → ${formatCount(stats.identifiers)} identifiers → ${formatCount(stats.profiles)} profiles`);
  out.line(`  identifiers per profile: ${stats.perProfile.map((b) => `${b.bucket}: ${formatCount(b.profiles)}`).join(' · ')}`);
  const largest = stats.largest[0];
  if (largest) {
    const shown = largest.identifiers.length > 160 ? `${largest.identifiers.slice(0, 159)}…` : largest.identifiers;
    out.line(`  largest profile ${largest.profile_id}: ${largest.identifier_count} identifiers — ${shown}`);
  }
  out.line('  rejected:');
  for (const r of stats.rejections.slice(0, 8)) out.line(`    ${r.kind.padEnd(8)} ${r.reason.padEnd(44)} ${formatCount(r.values).padStart(7)} value(s), ${formatCount(r.occurrences)} occurrence(s)`);
  if (largest) out.line(`  try: cdp --project-dir ${project.dir} identity explain ${largest.identifiers.split(' ')[0]}`);
  return true;
}
