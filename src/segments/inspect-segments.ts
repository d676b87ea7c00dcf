/**
 * Read-only questions about segments, answered live from the definitions (never from a
 * possibly stale membership table): size with the count after each condition group,
 * preview rows with chosen columns (PII masked unless asked), pairwise overlap, and the
 * list with each segment's last materialised size.
 */
import { configError } from '../errors';
import type { Row, Warehouse } from '../warehouse';
import type { ValueKind } from './catalog';
import { operatorsByKind } from './check-rules';
import { SegmentSqlBuilder, keyOf } from './compile-rules';
import type { Operator } from './rule-schema';
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

export interface TrendPoint {
  /** A run's instant (the entered_at / exited_at it wrote). */
  at: Date;
  /** Members right after that run. */
  members: number;
}

/**
 * Each segment's size over its last `points` runs, oldest first, from
 * `segment_membership_history` alone — one statement for every segment: each run stamps the
 * rows it opens (entered_at) and closes (exited_at) with its instant, so +1/−1 per stamp,
 * summed per instant and accumulated in time order, is the size right after each run.
 * A run that changed nobody's membership stamps nothing, so it adds no point (the size did
 * not move); empty map before the first run.
 */
export async function segmentTrends(warehouse: Warehouse, plan: SegmentsPlan, points = 20): Promise<Map<string, TrendPoint[]>> {
  const d = warehouse.dialect;
  const history = plan.tables.history;
  const trends = new Map<string, TrendPoint[]>();
  if ((await warehouse.query(d.relationKindSql(history))).length === 0) return trends;
  const q = (n: string) => d.quoteIdent(n);
  const h = d.qualify(history);
  const [seg, at, delta, change, members, newest] = ['seg', 'at', 'delta', 'change', 'members', 'newest'].map(q) as [string, string, string, string, string, string];
  const sql =
    `WITH stamps AS (\n` +
    `  SELECT ${q('segment')} AS ${seg}, ${q('entered_at')} AS ${at}, 1 AS ${delta} FROM ${h}\n` +
    `  UNION ALL\n` +
    `  SELECT ${q('segment')}, ${q('exited_at')}, -1 FROM ${h} WHERE ${q('exited_at')} IS NOT NULL\n` +
    `),\n` +
    `runs AS (SELECT ${seg}, ${at}, SUM(${delta}) AS ${change} FROM stamps GROUP BY ${seg}, ${at}),\n` +
    `sized AS (\n` +
    `  SELECT ${seg}, ${at}, SUM(${change}) OVER (PARTITION BY ${seg} ORDER BY ${at} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS ${members},\n` +
    `    ROW_NUMBER() OVER (PARTITION BY ${seg} ORDER BY ${at} DESC) AS ${newest}\n` +
    `  FROM runs\n` +
    `)\n` +
    `SELECT ${seg}, ${at}, ${members} FROM sized WHERE ${newest} <= ${Math.max(1, Math.floor(points))} ORDER BY ${seg}, ${at}`;
  for (const row of await warehouse.query(sql)) {
    const name = String(row.seg);
    const at = row.at instanceof Date ? row.at : new Date(String(row.at));
    const list = trends.get(name) ?? [];
    list.push({ at, members: Number(row.members) });
    trends.set(name, list);
  }
  return trends;
}

export interface RuleCatalog {
  over: 'profiles' | 'accounts';
  /** Columns of the subject (profiles or accounts) a `trait` condition may name. */
  traits: { name: string; kind: ValueKind }[];
  /** Over profiles with B2B accounts: what `account_trait` may name (the person's current account); else null. */
  account_traits: { name: string; kind: ValueKind }[] | null;
  /** Events sources of segments.yml (over profiles only: events belong to people). */
  events: {
    source: string;
    /** Names seen in the event column; null when not listed (a fixed-name source, or more than 1,000). */
    names: string[] | null;
    fixed_name: string | null;
    timestamp: string;
    /** Columns a `where` filter or an aggregate may name. */
    properties: { name: string; kind: ValueKind }[];
  }[];
  /** Other segments of the same subject that plan (`in_segment`; a broken one is left out). */
  segments: string[];
  operators: Record<ValueKind, Operator[]>;
}

/** What a rule over `over` may name, from the plan's catalog (the same one rules are checked against). */
export function ruleCatalog(plan: SegmentsPlan, over: 'profiles' | 'accounts'): RuleCatalog {
  const columns = (map: Map<string, ValueKind> | undefined) => [...(map ?? new Map<string, ValueKind>())].map(([name, kind]) => ({ name, kind })).sort((a, b) => a.name.localeCompare(b.name));
  const c = plan.catalog;
  const events = over === 'profiles'
    ? [...plan.events.values()].map((source) => {
        const found = c.events.get(source.name);
        const hidden = new Set([source.eventColumn, typeof source.identifier === 'string' ? source.identifier : source.identifier.column].filter(Boolean).map((n) => String(n).toLowerCase()));
        return {
          source: source.name,
          names: found?.names ? [...found.names].sort() : null,
          fixed_name: source.fixedName ?? null,
          timestamp: source.timestamp,
          properties: columns(found?.columns).filter((p) => !hidden.has(p.name)),
        };
      })
    : [];
  return {
    over,
    traits: columns(over === 'accounts' ? c.accounts : c.profiles),
    account_traits: over === 'profiles' && c.accounts ? columns(c.accounts) : null,
    events,
    segments: [...c.segments].filter(([name, subject]) => subject === over && !plan.broken.has(name)).map(([name]) => name).sort(),
    operators: { string: [...operatorsByKind.string], number: [...operatorsByKind.number], time: [...operatorsByKind.time], boolean: [...operatorsByKind.boolean] },
  };
}
