/**
 * Read-only questions about segments, answered live from the definitions (never from a
 * possibly stale membership table): size with the count after each condition group,
 * preview rows with chosen columns (PII masked unless asked), pairwise overlap, and the
 * list with each segment's last materialised size.
 */
import { configError } from '../errors';
import type { Row, Warehouse } from '../warehouse';
import { SegmentSqlBuilder, keyOf } from './compile-rules';
import type { PlannedSegment, SegmentsPlan } from './load-segments';
import { maskRows } from './pii-mask';
import { membersSql, sizeSql } from './segment-sql';

export function segmentOf(plan: SegmentsPlan, name: string): PlannedSegment {
  const segment = plan.byName.get(name);
  if (!segment) throw configError('segments/', `unknown segment '${name}'`, `known: ${[...plan.byName.keys()].sort().join(', ') || 'none — add segments/*.yml'}`);
  return segment;
}

export interface SegmentSize {
  segment: string;
  size: number;
  /** Cumulative counts: all subjects, then after each condition group, then outside the holdout. */
  steps: { label: string; count: number }[];
}

export async function segmentSize(warehouse: Warehouse, plan: SegmentsPlan, name: string): Promise<SegmentSize> {
  const segment = segmentOf(plan, name);
  const { sql, steps } = sizeSql(plan, segment);
  const [row] = await warehouse.query(sql);
  const counted = steps.map((s) => ({ label: s.label, count: Number(row?.[s.column] ?? 0) }));
  return { segment: name, size: counted[counted.length - 1]?.count ?? 0, steps: counted };
}

export interface PreviewOptions {
  columns?: string[];
  limit: number;
  unmask: boolean;
}

export async function previewSegment(warehouse: Warehouse, plan: SegmentsPlan, name: string, options: PreviewOptions): Promise<Row[]> {
  const segment = segmentOf(plan, name);
  const d = warehouse.dialect;
  const key = keyOf(segment.over);
  const wanted = options.columns?.length ? options.columns : segment.preview;
  const known = segment.over === 'profiles' ? plan.catalog.profiles : plan.catalog.accounts;
  for (const c of wanted ?? []) {
    if (segment.sql === undefined && c !== 'split_group' && !known?.has(c)) throw configError(segment.file, `preview column '${c}' is not a column of ${segment.over}`, `use some of ${[...(known?.keys() ?? [])].join(', ')}`);
  }
  const columns = wanted ? [...new Set([key, ...wanted])].map((c) => `m.${d.quoteIdent(c)}`).join(', ') : 'm.*';
  const rows = await warehouse.query(`SELECT ${columns} FROM (\n${membersSql(plan, segment)}) AS m ORDER BY m.${d.quoteIdent(key)} LIMIT ${Math.trunc(options.limit)}`);
  return options.unmask ? rows : maskRows(rows, plan.config.pii);
}

export interface SegmentOverlap {
  segments: string[];
  sizes: Record<string, number>;
  /** Every unordered pair once: members in both. */
  pairs: { a: string; b: string; both: number }[];
}

export async function segmentOverlap(warehouse: Warehouse, plan: SegmentsPlan, names: string[]): Promise<SegmentOverlap> {
  if (names.length < 2) throw configError('cdp segments overlap', 'overlap needs at least two segments', 'name two or more segments');
  const segments = names.map((n) => segmentOf(plan, n));
  const over = segments[0]!.over;
  const other = segments.find((s) => s.over !== over);
  if (other) throw configError(other.file, `segment ${other.name} is over ${other.over}, ${segments[0]!.name} over ${over}`, 'overlap compares segments of the same kind');
  const d = warehouse.dialect;
  const key = d.quoteIdent(keyOf(over));
  const b = new SegmentSqlBuilder(plan);
  const ctes = segments.map((s) => b.segmentKeys(s));
  const parts: string[] = [];
  segments.forEach((s, i) => {
    parts.push(`SELECT ${d.literal(s.name)} AS a, ${d.literal(s.name)} AS b, COUNT(*) AS n FROM ${ctes[i]}`);
    for (let j = i + 1; j < segments.length; j++) {
      parts.push(`SELECT ${d.literal(s.name)}, ${d.literal(segments[j]!.name)}, COUNT(*) FROM ${ctes[i]} AS x JOIN ${ctes[j]} AS y ON y.${key} = x.${key}`);
    }
  });
  const rows = await warehouse.query(`${b.withClause()}${parts.join('\nUNION ALL\n')}`);
  const sizes: Record<string, number> = {};
  const pairs: SegmentOverlap['pairs'] = [];
  for (const r of rows) {
    const a = String(r.a);
    const bb = String(r.b);
    if (a === bb) sizes[a] = Number(r.n);
    else pairs.push({ a, b: bb, both: Number(r.n) });
  }
  return { segments: names, sizes, pairs };
}

export interface SegmentListing {
  name: string;
  file: string;
  over: string;
  kind: 'rules' | 'sql';
  description?: string;
  splits: string;
  excludeHoldout: boolean;
  /** Members at the last materialisation; undefined before the first run. */
  materialized?: number;
}

export async function listSegments(warehouse: Warehouse | undefined, plan: SegmentsPlan): Promise<SegmentListing[]> {
  const out: SegmentListing[] = [];
  for (const s of [...plan.segments].sort((x, y) => x.name.localeCompare(y.name))) {
    let materialized: number | undefined;
    if (warehouse) {
      const ref = plan.tables.members(s.name);
      if ((await warehouse.query(warehouse.dialect.relationKindSql(ref))).length) {
        const [row] = await warehouse.query(`SELECT COUNT(*) AS n FROM ${warehouse.dialect.qualify(ref)}`);
        materialized = Number(row?.n ?? 0);
      }
    }
    out.push({
      name: s.name,
      file: s.file,
      over: s.over,
      kind: s.sql === undefined ? 'rules' : 'sql',
      description: s.description?.trim(),
      splits: s.splits.map((x) => `${x.group} ${x.percent}%`).join(' / '),
      excludeHoldout: s.excludeHoldout,
      materialized,
    });
  }
  return out;
}
