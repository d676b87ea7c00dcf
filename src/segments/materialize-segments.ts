/**
 * Materialises every planned segment (part of `cdp run`): per segment, in one unit,
 *  1. build `seg_<name>__next` from the segment's SQL;
 *  2. close the open history rows of members that left (exited_at = the run's instant);
 *  3. open a history row for each member that entered (entered_at = the run's instant);
 *  4. swap `__next` in as `seg_<name>`.
 * Then closes the history of segments no longer defined and rebuilds the priority lists.
 *
 * Invariants: `segment_membership_history` has at most one open row (exited_at NULL) per
 * (segment, member), and the open rows equal the current membership tables — a person who
 * leaves and comes back gets a second row. On DuckDB/PostgreSQL each segment's four steps
 * are one transaction, so a failure leaves the last good table and history. One segment's
 * failure does not stop the others (its result says why). A definition a `keepGoing` plan set
 * aside is reported (error; skipped when only a segment it refers to is broken) and keeps its
 * last good table and open history rows — it is broken, not removed.
 */
import { messageOf } from '../errors';
import type { TableRef, Warehouse } from '../warehouse';
import { keyOf } from './compile-rules';
import type { PlannedSegment, SegmentsPlan } from './load-segments';
import { membersSql } from './segment-sql';

export interface SegmentResult {
  segment: string;
  status: 'success' | 'error' | 'skipped';
  size?: number;
  entered?: number;
  exited?: number;
  ms: number;
  message?: string;
}

export interface SegmentsRunResult {
  ok: boolean;
  at: Date;
  results: SegmentResult[];
  priorityLists: SegmentResult[];
}

export interface SegmentsRunOptions {
  /** The run's instant (entered_at / exited_at); default now. Tests pin it. */
  at?: Date;
  /** Only these segments (the rest keep their tables and history). */
  only?: string[];
  onResult?: (result: SegmentResult) => void;
}

export async function runSegments(warehouse: Warehouse, plan: SegmentsPlan, options: SegmentsRunOptions = {}): Promise<SegmentsRunResult> {
  const d = warehouse.dialect;
  const at = options.at ?? new Date(Math.floor(Date.now() / 1000) * 1000);
  const t = plan.tables;
  await warehouse.execute(d.createSchemaIfNotExists(t.schema));
  await ensureHistory(warehouse, t.history);
  const results: SegmentResult[] = [];
  for (const broken of plan.broken.values()) {
    if (options.only && !options.only.includes(broken.name)) continue;
    const result: SegmentResult = { segment: broken.name, status: broken.blockedBy ? 'skipped' : 'error', ms: 0, message: broken.error.toLine() };
    results.push(result);
    options.onResult?.(result);
  }
  for (const segment of plan.segments) {
    if (options.only && !options.only.includes(segment.name)) continue;
    const result = await materializeOne(warehouse, plan, segment, at);
    results.push(result);
    options.onResult?.(result);
  }
  if (!options.only) {
    // Segments whose files were removed: their members have left (a broken one is still defined).
    const defined = [...plan.segments.map((s) => s.name), ...plan.broken.keys()].map((n) => d.literal(n));
    const where = defined.length ? ` AND ${q(d, 'segment')} NOT IN (${defined.join(', ')})` : '';
    await warehouse.execute(`UPDATE ${d.qualify(t.history)} SET ${q(d, 'exited_at')} = ${d.literal(at)} WHERE ${q(d, 'exited_at')} IS NULL${where}`);
  }
  const failed = new Set(results.filter((r) => r.status !== 'success').map((r) => r.segment));
  const priorityLists: SegmentResult[] = [];
  for (const [list, names] of Object.entries(plan.config.priority_lists)) {
    const started = Date.now();
    const broken = names.filter((n) => failed.has(n));
    if (broken.length) {
      priorityLists.push({ segment: list, status: 'skipped', ms: 0, message: `segment(s) ${broken.join(', ')} failed` });
      continue;
    }
    const unknown = names.filter((n) => !plan.byName.has(n));
    if (unknown.length) {
      priorityLists.push({ segment: list, status: 'skipped', ms: 0, message: `segment(s) ${unknown.join(', ')} are not defined` });
      continue;
    }
    try {
      const ref = t.priority(list);
      await replaceTable(warehouse, ref, prioritySql(plan, names));
      const [row] = await warehouse.query(`SELECT COUNT(*) AS n FROM ${d.qualify(ref)}`);
      priorityLists.push({ segment: list, status: 'success', size: Number(row?.n ?? 0), ms: Date.now() - started });
    } catch (error) {
      priorityLists.push({ segment: list, status: 'error', ms: Date.now() - started, message: messageOf(error) });
    }
  }
  const ok = results.every((r) => r.status === 'success') && priorityLists.every((r) => r.status === 'success');
  return { ok, at, results, priorityLists };
}

const q = (d: Warehouse['dialect'], n: string) => d.quoteIdent(n);

async function ensureHistory(warehouse: Warehouse, ref: TableRef): Promise<void> {
  const d = warehouse.dialect;
  const exists = await warehouse.query(d.relationKindSql(ref));
  if (exists.length) return;
  await warehouse.execute(
    d.createTable(ref, [
      { name: 'segment', type: 'string' },
      { name: 'profile_id', type: 'string' },
      { name: 'entered_at', type: 'timestamp' },
      { name: 'exited_at', type: 'timestamp' },
    ]),
  );
}

async function materializeOne(warehouse: Warehouse, plan: SegmentsPlan, segment: PlannedSegment, at: Date): Promise<SegmentResult> {
  const d = warehouse.dialect;
  const started = Date.now();
  const t = plan.tables;
  const next = t.next(segment.name);
  const members = t.members(segment.name);
  const history = d.qualify(t.history);
  const name = d.literal(segment.name);
  const key = d.cast(`n.${q(d, keyOf(segment.over))}`, 'string');
  const instant = d.literal(at);
  const open = `${q(d, 'segment')} = ${name} AND ${q(d, 'exited_at')} IS NULL`;
  try {
    await warehouse.executeAll([
      d.dropTableIfExists(next),
      d.createTableAs(next, membersSql(plan, segment)),
      `UPDATE ${history} SET ${q(d, 'exited_at')} = ${instant}\nWHERE ${open} AND ${q(d, 'profile_id')} NOT IN (SELECT ${key} FROM ${d.qualify(next)} AS n)`,
      `INSERT INTO ${history} (${['segment', 'profile_id', 'entered_at', 'exited_at'].map((c) => q(d, c)).join(', ')})\n` +
        `SELECT DISTINCT ${name}, ${key}, ${instant}, ${d.cast('NULL', 'timestamp')} FROM ${d.qualify(next)} AS n\n` +
        `WHERE ${key} NOT IN (SELECT ${q(d, 'profile_id')} FROM ${history} WHERE ${open})`,
      d.dropTableIfExists(members),
      d.renameTable(next, members.name),
    ]);
    const [row] = await warehouse.query(
      `SELECT COUNT(CASE WHEN ${q(d, 'exited_at')} IS NULL THEN 1 END) AS size, COUNT(CASE WHEN ${q(d, 'entered_at')} = ${instant} THEN 1 END) AS entered, ` +
        `COUNT(CASE WHEN ${q(d, 'exited_at')} = ${instant} THEN 1 END) AS exited FROM ${history} WHERE ${q(d, 'segment')} = ${name}`,
    );
    return { segment: segment.name, status: 'success', size: Number(row?.size ?? 0), entered: Number(row?.entered ?? 0), exited: Number(row?.exited ?? 0), ms: Date.now() - started };
  } catch (error) {
    await warehouse.execute(d.dropTableIfExists(next)).catch(() => undefined);
    return { segment: segment.name, status: 'error', ms: Date.now() - started, message: messageOf(error) };
  }
}

/** Each member once, in the first (highest) listed segment that holds them. */
function prioritySql(plan: SegmentsPlan, names: string[]): string {
  const d = plan.dialect;
  const unions = names.map((n, i) => {
    const seg = plan.byName.get(n)!;
    return `  SELECT ${d.cast(q(d, keyOf(seg.over)), 'string')} AS ${q(d, 'profile_id')}, ${d.literal(n)} AS ${q(d, 'segment')}, ${i + 1} AS ${q(d, 'priority')} FROM ${d.qualify(plan.tables.members(n))}`;
  });
  return (
    `SELECT ${q(d, 'profile_id')}, ${q(d, 'segment')}, ${q(d, 'priority')} FROM (\n` +
    ` SELECT x.*, ROW_NUMBER() OVER (PARTITION BY x.${q(d, 'profile_id')} ORDER BY x.${q(d, 'priority')}) AS ${q(d, 'rn')} FROM (\n` +
    `${unions.join('\n  UNION ALL\n')}\n ) AS x\n) AS ranked WHERE ${q(d, 'rn')} = 1`
  );
}

async function replaceTable(warehouse: Warehouse, ref: TableRef, select: string): Promise<void> {
  const d = warehouse.dialect;
  const temp = { ...ref, name: `${ref.name}__next` };
  await warehouse.executeAll([d.dropTableIfExists(temp), d.createTableAs(temp, select), d.dropTableIfExists(ref), d.renameTable(temp, ref.name)]);
}
