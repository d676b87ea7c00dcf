/**
 * `cdp segments list | show | size | preview | overlap | run`: loads and validates every
 * segment against the warehouse's catalog, then hands over to src/segments. A broken
 * definition is one line naming the file, line and rule path (exit 2).
 */
import { listSegments, loadSegmentsPlan, membersSql, previewSegment, runSegments, segmentOverlap, segmentSize, describeRule, type SegmentsPlan, type SegmentsRunResult } from '../segments';
import { segmentOf } from '../segments/inspect-segments';
import type { Row, Scalar, Warehouse } from '../warehouse';
import { formatCount, formatDuration, type Output } from './output';
import { connectProjectWarehouse, loadProjectFromCli, type GlobalOptions } from './project-context';

async function withSegments<T>(global: GlobalOptions, work: (warehouse: Warehouse, plan: SegmentsPlan) => Promise<T>): Promise<T> {
  const project = loadProjectFromCli(global);
  const warehouse = await connectProjectWarehouse(project);
  try {
    const plan = await loadSegmentsPlan(project, warehouse, process.env);
    return await work(warehouse, plan);
  } finally {
    await warehouse.close();
  }
}

export async function segmentsListCommand(global: GlobalOptions, out: Output): Promise<number> {
  return withSegments(global, async (warehouse, plan) => {
    const list = await listSegments(warehouse, plan);
    if (list.length === 0) out.line('No segments: add segments/*.yml');
    for (const s of list) {
      const size = s.materialized === undefined ? 'not built yet' : `${formatCount(s.materialized)} members`;
      const extras = [s.splits && `splits ${s.splits}`, s.excludeHoldout && 'excludes holdout'].filter(Boolean).join(', ');
      out.line(`${s.name.padEnd(28)} ${s.over.padEnd(9)} ${s.kind.padEnd(6)} ${size.padStart(16)}${extras ? `  (${extras})` : ''}${s.description ? `  ${s.description.split('\n')[0]}` : ''}`);
    }
    out.result({ segments: list });
    return 0;
  });
}

export async function segmentsShowCommand(global: GlobalOptions, name: string, out: Output): Promise<number> {
  return withSegments(global, async (_warehouse, plan) => {
    const s = segmentOf(plan, name);
    const sql = membersSql(plan, s);
    out.line(`${s.name} (${s.file}) over ${s.over}${s.description ? `: ${s.description.trim()}` : ''}`);
    if (s.rule) out.line(`rules: ${describeRule(s.rule)}`);
    if (s.splits.length) out.line(`splits: ${s.splits.map((x) => `${x.group} ${x.percent}%`).join(' / ')} (salt '${s.splitSalt}')`);
    if (s.excludeHoldout) out.line(`excludes the global holdout (${plan.config.holdout?.percent}%)`);
    if (s.dependsOn.length) out.line(`uses segments: ${s.dependsOn.join(', ')}`);
    out.line('');
    out.line(sql.trimEnd());
    out.result({ name: s.name, file: s.file, over: s.over, rules: s.rule ?? null, sql });
    return 0;
  });
}

export async function segmentsSizeCommand(global: GlobalOptions, name: string, out: Output): Promise<number> {
  return withSegments(global, async (warehouse, plan) => {
    const started = Date.now();
    const size = await segmentSize(warehouse, plan, name);
    const ms = Date.now() - started;
    out.line(`${name}: ${formatCount(size.size)} in ${formatDuration(ms)}`);
    for (const step of size.steps) out.line(`  ${formatCount(step.count).padStart(12)}  ${step.label}`);
    out.result({ ...size, ms });
    return 0;
  });
}

export async function segmentsPreviewCommand(global: GlobalOptions, name: string, options: { traits?: string; limit: number; unmask: boolean }, out: Output): Promise<number> {
  return withSegments(global, async (warehouse, plan) => {
    const columns = options.traits?.split(',').map((c) => c.trim()).filter(Boolean);
    const rows = await previewSegment(warehouse, plan, name, { columns, limit: options.limit, unmask: options.unmask });
    printTable(rows, out);
    if (!options.unmask && rows.length) out.line('(personal data masked; --unmask shows it)');
    out.result({ segment: name, rows });
    return 0;
  });
}

export async function segmentsOverlapCommand(global: GlobalOptions, names: string[], out: Output): Promise<number> {
  return withSegments(global, async (warehouse, plan) => {
    const overlap = await segmentOverlap(warehouse, plan, names);
    for (const n of names) out.line(`${n.padEnd(28)} ${formatCount(overlap.sizes[n] ?? 0).padStart(10)}`);
    out.line('');
    for (const p of overlap.pairs) {
      const smaller = Math.min(overlap.sizes[p.a] ?? 0, overlap.sizes[p.b] ?? 0);
      const share = smaller ? ` (${((100 * p.both) / smaller).toFixed(1)}% of the smaller)` : '';
      out.line(`${p.a} ∩ ${p.b}: ${formatCount(p.both)}${share}`);
    }
    out.result(overlap);
    return 0;
  });
}

export async function segmentsRunCommand(global: GlobalOptions, options: { select: string[] }, out: Output): Promise<number> {
  return withSegments(global, async (warehouse, plan) => {
    const result = await runSegmentsWithOutput(warehouse, plan, out, options.select.length ? options.select : undefined);
    return result.ok ? 0 : 1;
  });
}

/** Shared with `cdp run` and `cdp demo`. */
export async function runSegmentsWithOutput(warehouse: Warehouse, plan: SegmentsPlan, out: Output, only?: string[]): Promise<SegmentsRunResult> {
  out.line(`Building ${only?.length ?? plan.segments.length} segment(s) into ${plan.tables.schema}`);
  const result = await runSegments(warehouse, plan, {
    only,
    onResult: (r) =>
      out.line(
        r.status === 'success'
          ? `  OK    ${r.segment.padEnd(28)} ${formatCount(r.size ?? 0).padStart(10)} members (+${formatCount(r.entered ?? 0)} −${formatCount(r.exited ?? 0)}) in ${formatDuration(r.ms)}`
          : `  ERROR ${r.segment.padEnd(28)} ${r.message ?? ''}`,
      ),
  });
  for (const p of result.priorityLists) out.line(`  ${p.status === 'success' ? 'OK   ' : 'ERROR'} priority list ${p.segment}: ${p.status === 'success' ? `${formatCount(p.size ?? 0)} people` : p.message}`);
  out.result({ ok: result.ok, at: result.at, results: result.results, priority_lists: result.priorityLists });
  return result;
}

function printTable(rows: Row[], out: Output): void {
  if (rows.length === 0) {
    out.line('(no members)');
    return;
  }
  const cols = Object.keys(rows[0]!);
  const text = (v: Scalar) => (v === null ? '' : v instanceof Date ? v.toISOString().slice(0, 19).replace('T', ' ') : String(v));
  const widths = cols.map((c) => Math.min(32, Math.max(c.length, ...rows.map((r) => text(r[c] ?? null).length))));
  const cell = (s: string, w: number) => (s.length > w ? `${s.slice(0, w - 1)}…` : s.padEnd(w));
  out.line(cols.map((c, i) => cell(c, widths[i]!)).join('  '));
  for (const r of rows) out.line(cols.map((c, i) => cell(text(r[c] ?? null), widths[i]!)).join('  '));
}
