/**
 * Plans a sync run: checks the source has the columns the sync reads, builds the change set
 * in the warehouse (plan-sql.ts) and reads back only counts — and, for `cdp sync plan`,
 * a few samples of each kind. Sends nothing (invariant 8). Also decides the circuit breaker
 * (invariant 7): a plan deleting more than `max_deletion_share` of what the sync holds is
 * flagged, and the runner stops before sending.
 */
import type { BatchOp, FieldValue } from '../../connectors/kit';
import { configError } from '../errors';
import type { Row, TableRef, Warehouse } from '../warehouse';
import type { LoadedSync } from './load-syncs';
import { planCountsSql, planStatements, type PlanSqlInput } from './plan-sql';
import { emptyCounts, type SyncCounts } from './sync-counts';
import { ensureSyncTables, relationExists, type SyncTables } from './state-tables';

export interface SyncTarget {
  sync: LoadedSync;
  /** The audience relation. */
  source: TableRef;
  /** The consent purpose's relation when it is not the source. */
  consentTable?: TableRef;
  tables: SyncTables;
}

export interface PlanOptions {
  full: boolean;
  retryRejected: boolean;
}

export const PLAN_KINDS = ['added', 'changed', 'removed', 'invalid_null_key', 'invalid_duplicate_key', 'skipped_consent', 'skipped_rejected'] as const;
export type PlanKind = (typeof PLAN_KINDS)[number];

export interface SyncPlan {
  counts: SyncCounts;
  /** Rows per batch op to send. */
  byOp: Partial<Record<BatchOp, number>>;
  /** Rows needing only state bookkeeping (no op in this mode, or a record this sync did not create). */
  bookkeeping: number;
  /** Rows the sync holds in the destination before this run. */
  stateRows: number;
  /** Set when the run must stop before sending. */
  breaker?: { deletions: number; share: number; limit: number; message: string };
  durationMs: number;
}

export async function planSync(warehouse: Warehouse, target: SyncTarget, options: PlanOptions): Promise<SyncPlan> {
  const started = Date.now();
  const { sync, tables } = target;
  await checkSourceColumns(warehouse, target);
  await ensureSyncTables(warehouse, tables, sync.spec.options.sync_log);
  const purpose = sync.purpose;
  const input: PlanSqlInput = {
    source: target.source,
    keyColumn: sync.spec.key,
    columns: sync.mapping.columns,
    fingerprint: sync.mapping.fingerprint,
    consent: purpose ? { table: target.consentTable, keyColumn: purpose.key, column: purpose.column, granted: purpose.granted } : undefined,
    mode: sync.mode,
    state: tables.state,
    rejected: tables.rejected,
    plan: tables.plan,
    full: options.full,
    retryRejected: options.retryRejected,
  };
  type CountRow = { kind: string; op: string | null; n: number; surplus: number | string | null };
  await warehouse.executeAll(planStatements(warehouse.dialect, input));
  let rows = await warehouse.query<CountRow>(planCountsSql(warehouse.dialect, tables.plan));
  // A key the sync holds is duplicated in the source now: the one-pass plan cannot name its
  // rows, so plan again with duplicates found over the whole audience (rare: a data error).
  // With --full every source row is a candidate, and the one-pass plan is exact already.
  const surplus = rows.reduce((sum, r) => sum + Number(r.surplus ?? 0), 0);
  if (surplus !== 0 && !options.full) {
    await warehouse.executeAll(planStatements(warehouse.dialect, { ...input, exactDuplicates: true }));
    rows = await warehouse.query<CountRow>(planCountsSql(warehouse.dialect, tables.plan));
  }
  const [{ n: stateRows }] = await warehouse.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${warehouse.dialect.qualify(tables.state)}`);
  const counts = emptyCounts();
  const byOp: Partial<Record<BatchOp, number>> = {};
  let bookkeeping = 0;
  let changedInState = 0;
  for (const row of rows) {
    const n = Number(row.n);
    const kind = row.kind as PlanKind;
    if (kind === 'added' || kind === 'changed' || kind === 'removed') {
      counts[kind] += n;
      if (row.op) {
        byOp[row.op as BatchOp] = (byOp[row.op as BatchOp] ?? 0) + n;
        counts.planned += n;
      } else bookkeeping += n;
      if (kind === 'changed' || kind === 'removed') changedInState += n;
    } else if (kind === 'invalid_null_key' || kind === 'invalid_duplicate_key') counts.invalid += n;
    else if (kind === 'skipped_consent') counts.skipped_consent += n;
    else if (kind === 'skipped_rejected') counts.skipped_rejected += n;
  }
  counts.unchanged = Math.max(0, Number(stateRows) - changedInState);
  const plan: SyncPlan = { counts, byOp, bookkeeping, stateRows: Number(stateRows), durationMs: Date.now() - started };
  const deletions = (byOp.delete ?? 0) + (byOp.remove ?? 0);
  const limit = sync.spec.options.max_deletion_share;
  const share = plan.stateRows === 0 ? 0 : deletions / plan.stateRows;
  if (deletions > 0 && share > limit) {
    plan.breaker = {
      deletions,
      share,
      limit,
      message:
        `would delete ${deletions} of the ${plan.stateRows} records this sync holds (${pct(share)}), more than max_deletion_share ${pct(limit)}` +
        ' — check the source (an empty or broken model?); if intended, rerun with --allow-deletions or raise options.max_deletion_share',
    };
  }
  return plan;
}

function pct(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}

/** Fails with a config error naming the missing columns before any SQL runs on them. */
async function checkSourceColumns(warehouse: Warehouse, target: SyncTarget): Promise<void> {
  const { sync } = target;
  const check = async (ref: TableRef, wanted: string[], what: string) => {
    if (!(await relationExists(warehouse, ref))) {
      throw configError(sync.file, `${what} ${ref.schema ? `${ref.schema}.` : ''}${ref.name} does not exist in the warehouse`, 'build it first: cdp run');
    }
    const columns = new Set((await warehouse.query<{ column_name: string }>(warehouse.dialect.columnsSql(ref))).map((r) => r.column_name.toLowerCase()));
    const missing = wanted.filter((c) => !columns.has(c.toLowerCase()));
    if (missing.length) {
      throw configError(sync.file, `${what} ${ref.name} has no column ${missing.join(', ')}`, `use one of ${[...columns].slice(0, 20).join(', ')}`);
    }
  };
  const purpose = sync.purpose;
  const fromSource = [sync.spec.key, ...sync.mapping.columns, ...(purpose && !target.consentTable ? [purpose.column] : [])];
  await check(target.source, [...new Set(fromSource)], 'source');
  if (purpose && target.consentTable) await check(target.consentTable, [purpose.key!, purpose.column], `consent purpose ${purpose.name}:`);
}

export interface PlanSample {
  kind: PlanKind;
  key: string | null;
  op: string | null;
  /** The fields that would be sent (added/changed), or the reason it is not sent. */
  fields?: Record<string, FieldValue>;
  note?: string;
}

/** Up to `perKind` rows of each kind, with the fields that would be sent. */
export async function planSamples(warehouse: Warehouse, target: SyncTarget, perKind = 3): Promise<PlanSample[]> {
  const d = warehouse.dialect;
  const samples: PlanSample[] = [];
  for (const kind of PLAN_KINDS) {
    const rows = await warehouse.query<Row>(`SELECT * FROM ${d.qualify(target.tables.plan)} WHERE __kind = ${d.literal(kind)} ORDER BY __key LIMIT ${perKind}`);
    for (const row of rows) {
      const sample: PlanSample = { kind, key: row.__key === null ? null : String(row.__key), op: row.__op === null ? null : String(row.__op) };
      if (kind === 'added' || kind === 'changed') sample.fields = target.sync.mapping.apply(row);
      if (kind === 'skipped_rejected') sample.note = `rejected before: ${String(row.__prev_reason)}`;
      if (kind === 'removed') sample.note = row.__op === null ? 'forgotten only (not created by this sync, or the mode sends no removals)' : 'left the audience or withdrew consent';
      samples.push(sample);
    }
  }
  return samples;
}
