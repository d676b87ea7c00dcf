/**
 * `cdp identity run | explain TYPE:VALUE | stats`: loads identity.yml against the project,
 * connects the warehouse and hands over to src/identity; prints steps, a profile's story
 * or graph-wide figures. Exit 1 when the run failed or the identifier is in no profile.
 */
import { explainIdentifier, identityStats, loadIdentityPlan, runIdentity, type ExplainResult, type IdentityPlan, type IdentityRunResult, type IdentityStats } from '../identity';
import type { Project } from '../project';
import { dialectFor, type Scalar, type Warehouse } from '../warehouse';
import { formatCount, formatDuration, type Output } from './output';
import { connectProjectWarehouse, loadProjectFromCli, type GlobalOptions } from './project-context';

async function withIdentity<T>(global: GlobalOptions, work: (warehouse: Warehouse, plan: IdentityPlan, project: Project) => Promise<T>): Promise<T> {
  const project = loadProjectFromCli(global);
  const plan = loadIdentityPlan(project, dialectFor(project.config.warehouse.type), process.env);
  const warehouse = await connectProjectWarehouse(project);
  try {
    return await work(warehouse, plan, project);
  } finally {
    await warehouse.close();
  }
}

export async function identityRunCommand(global: GlobalOptions, options: { fullRefresh: boolean }, out: Output): Promise<number> {
  return withIdentity(global, async (warehouse, plan) => {
    const result = await runIdentityWithOutput(warehouse, plan, options, out);
    return result.ok ? 0 : 1;
  });
}

/** Shared with `cdp demo`. */
export async function runIdentityWithOutput(warehouse: Warehouse, plan: IdentityPlan, options: { fullRefresh: boolean }, out: Output): Promise<IdentityRunResult> {
  out.line(`Resolving identities on ${warehouse.dialect.name} into ${plan.outputSchema}`);
  const result = await runIdentity(warehouse, plan, {
    fullRefresh: options.fullRefresh,
    onStep: (s) => out.line(`  ${s.status === 'success' ? 'OK   ' : 'ERROR'} ${s.step.padEnd(11)} ${s.detail ?? ''}${s.status === 'success' ? ` in ${formatDuration(s.ms)}` : ''}`),
  });
  const c = result.counts;
  if (result.ok) {
    out.line(
      `Run ${result.run} (${result.mode}): ${formatCount(c.profiles)} profiles from ${formatCount(c.identifiers)} identifiers; ` +
        `${formatCount(c.newProfiles)} new, ${c.merges} merged, ${c.splits} split; ${formatCount(c.limitRejections)} edges over a limit, ${formatCount(c.blockedValues)} blocked/invalid values`,
    );
  } else if (result.error) {
    out.error(`error: ${result.error.toLine()}`);
  }
  out.result({ ok: result.ok, run: result.run, mode: result.mode, counts: c, steps: result.steps });
  return result;
}

export async function identityExplainCommand(global: GlobalOptions, lookup: string, out: Output): Promise<number> {
  return withIdentity(global, async (warehouse, plan) => {
    const result = await explainIdentifier(warehouse, plan, lookup);
    printExplain(result, out);
    out.result(result);
    return 0;
  });
}

export async function identityStatsCommand(global: GlobalOptions, options: { top: number }, out: Output): Promise<number> {
  return withIdentity(global, async (warehouse, plan) => {
    const stats = await identityStats(warehouse, plan, { top: options.top });
    printStats(stats, out);
    out.result(stats);
    return 0;
  });
}

function printExplain(r: ExplainResult, out: Output): void {
  const p = r.profile;
  out.line(`${r.lookup.type}:${r.lookup.value} → profile ${String(p.profile_id)}`);
  const traits = Object.entries(p).filter(([k, v]) => !['profile_id', 'identifiers', 'identifier_count'].includes(k) && v !== null);
  if (traits.length) out.line(`  ${traits.map(([k, v]) => `${k}=${show(v)}`).join('  ')}`);
  out.line('');
  out.line(`Identifiers (${r.identifiers.length}):`);
  for (const i of r.identifiers) out.line(`  ${`${i.identifier_type}:${i.identifier_value}`.padEnd(48)} seen ${show(i.first_seen)} … ${show(i.last_seen)}  in ${show(i.sources)}`);
  out.line('');
  out.line(`Joined by (${r.edges.length} edge(s)):`);
  for (const e of r.edges) out.line(`  ${e.a_type}:${e.a_value} — ${e.b_type}:${e.b_value}  [${e.source}, first ${show(e.first_seen)}]`);
  if (r.rejected.length) {
    out.line('');
    out.line(`Rejected (${r.rejected.length}):`);
    for (const x of r.rejected) {
      out.line(`  ${x.identifier_type}:${x.identifier_value} — ${x.other_type}:${x.other_value}  ${x.reason} [${x.sources}]  (kept apart: ${show(x.profile_id)} / ${show(x.other_profile_id)})`);
    }
  }
  if (r.history.length) {
    out.line('');
    out.line('History:');
    for (const h of r.history) out.line(`  run ${h.run}: ${h.kind} ${h.from_profile_id} → ${h.to_profile_id} (${h.identifiers} identifier(s))`);
  }
  if (r.memberships.length) {
    out.line('');
    out.line('Accounts:');
    for (const m of r.memberships) out.line(`  ${m.account_id}  ${show(m.valid_from)} … ${m.valid_to === null ? 'now' : show(m.valid_to)}${m.is_current ? '  (current)' : ''}`);
  }
}

export function printStats(s: IdentityStats, out: Output): void {
  out.line(`${formatCount(s.profiles)} profiles, ${formatCount(s.identifiers)} identifiers (${(s.identifiers / Math.max(1, s.profiles)).toFixed(2)} per profile)${s.lastRun ? `; last run ${s.lastRun.run} (${s.lastRun.mode})` : ''}`);
  out.line(`  by type: ${s.byType.map((t) => `${t.identifier_type} ${formatCount(t.identifiers)}`).join(' · ')}`);
  out.line(`  identifiers per profile: ${s.perProfile.map((b) => `${b.bucket}: ${formatCount(b.profiles)}`).join(' · ')}`);
  out.line(`  merges ${s.history.merges}, splits ${s.history.splits}`);
  out.line('Largest profiles:');
  for (const l of s.largest) out.line(`  ${l.profile_id}  ${l.identifier_count} identifiers  ${truncate(l.identifiers, 90)}`);
  out.line('Rejections by reason:');
  if (s.rejections.length === 0) out.line('  none');
  for (const r of s.rejections) out.line(`  ${r.kind.padEnd(8)} ${r.reason.padEnd(44)} ${formatCount(r.values).padStart(8)} value(s) ${formatCount(r.occurrences).padStart(9)} occurrence(s)`);
}

function show(value: Scalar | undefined): string {
  if (value === null || value === undefined) return '—';
  if (value instanceof Date) return value.toISOString().replace('T', ' ').replace(/\.000Z$/, 'Z');
  return String(value);
}

function truncate(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

