/**
 * The identity run: a fixed sequence of SQL steps in the warehouse, each timed and
 * reported. Sources → staged rows → edges (stored) → the identifiers to recompute →
 * dense ids → connected components → limits → stable ids → state → output tables.
 *
 * Full runs recompute every component from all source rows; incremental runs read only
 * rows newer than each source's watermark and recompute only the raw components those
 * rows touch (plus new identifiers). Because a component's partition and ids depend only
 * on its own edges and the registry, the two give the same tables (tested). The registry
 * is kept across full refreshes: that is what keeps ids stable.
 *
 * A failed step stops the run (later steps need its output); state tables are only
 * written after the graph is computed, so a failed run leaves the last good state.
 */
import { CdpError, messageOf } from '../errors';
import type { TableRef, Warehouse } from '../warehouse';
import { accountsSql, currentAccountSql, membershipsSql } from './accounts-sql';
import { connectedComponents } from './components';
import { enforceLimits } from './enforce-limits';
import { affectedSql, endpointsSql, membersSql, mergedBlockedSql, mergedEdgesSql, nodesSql, pairsSql, subEdgesSql } from './graph-sql';
import type { IdentityPlan } from './identity-plan';
import { identityTables } from './identity-tables';
import { identityGraphSql, limitRejectionRowsSql, rejectionsSql } from './outputs-sql';
import { profilesSql, traitRowsSql } from './profiles-sql';
import { countRows, createScratch, ensureTable, replaceTable } from './sql-kit';
import { assignSql, choiceSql, eventsSql, overlapSql, registryRowsSql } from './stable-ids';
import { blockedFromStageSql, edgesFromStageSql, stagedRowsSql } from './stage-sql';
import * as cols from './state-tables';

export type ComponentsStrategy = 'auto' | 'sql' | 'in-process' | 'label-propagation';

export interface IdentityRunOptions {
  fullRefresh?: boolean;
  strategy?: ComponentsStrategy;
  onStep?: (step: IdentityStepResult) => void;
  /** Keep scratch tables (debugging). */
  keepScratch?: boolean;
}

export interface IdentityStepResult {
  step: string;
  status: 'success' | 'error' | 'skipped';
  ms: number;
  detail?: string;
}

export interface IdentityCounts {
  stagedRows: number;
  newEdges: number;
  affectedIdentifiers: number;
  identifiers: number;
  profiles: number;
  componentRounds: number;
  violatingComponents: number;
  limitRejections: number;
  blockedValues: number;
  merges: number;
  splits: number;
  newProfiles: number;
}

export interface IdentityRunResult {
  ok: boolean;
  run: number;
  mode: 'full' | 'incremental';
  steps: IdentityStepResult[];
  counts: IdentityCounts;
  error?: CdpError;
}

const STEPS = ['prepare', 'stage', 'edges', 'affected', 'nodes', 'components', 'limits', 'stable ids', 'state', 'outputs', 'cleanup'] as const;

export async function runIdentity(warehouse: Warehouse, plan: IdentityPlan, options: IdentityRunOptions = {}): Promise<IdentityRunResult> {
  const d = warehouse.dialect;
  const q = (n: string) => d.quoteIdent(n);
  const T = identityTables(plan);
  const Q = (ref: TableRef) => d.qualify(ref);
  const scratch = {
    newEdges: T.scratch('new_edges'),
    newBlocked: T.scratch('new_blocked'),
    affected: T.scratch('affected'),
    subEdges: T.scratch('sub_edges'),
    nodes: T.scratch('nodes'),
    pairs: T.scratch('pairs'),
    intEdges: T.scratch('int_edges'),
    cc: T.scratch('cc'),
    violating: T.scratch('violating'),
    limited: T.scratch('limited'),
    limitRejected: T.scratch('limit_rejected'),
    members: T.scratch('members'),
    overlap: T.scratch('overlap'),
    choice: T.scratch('choice'),
    assign: T.scratch('assign'),
    memberships: T.scratch('memberships'),
    currentAccount: T.scratch('current_account'),
    traitRows: T.scratch('trait_rows'),
  };
  const stages = plan.sources.map((s, i) => ({ source: s, ref: T.scratch(`stage_${i}`) }));
  const counts: IdentityCounts = {
    stagedRows: 0, newEdges: 0, affectedIdentifiers: 0, identifiers: 0, profiles: 0, componentRounds: 0,
    violatingComponents: 0, limitRejections: 0, blockedValues: 0, merges: 0, splits: 0, newProfiles: 0,
  };
  const steps: IdentityStepResult[] = [];
  let run = 0;
  let mode: 'full' | 'incremental' = 'full';

  const step = async (name: (typeof STEPS)[number], work: () => Promise<string | void>) => {
    const started = Date.now();
    try {
      const detail = await work();
      const result: IdentityStepResult = { step: name, status: 'success', ms: Date.now() - started, detail: detail ?? undefined };
      steps.push(result);
      options.onStep?.(result);
    } catch (error) {
      const result: IdentityStepResult = { step: name, status: 'error', ms: Date.now() - started, detail: messageOf(error) };
      steps.push(result);
      options.onStep?.(result);
      throw error;
    }
  };

  try {
    await step('prepare', async () => {
      await warehouse.execute(d.createSchemaIfNotExists(plan.stateSchema));
      await warehouse.execute(d.createSchemaIfNotExists(plan.outputSchema));
      await ensureTable(warehouse, T.registry, cols.registryColumns);
      await ensureTable(warehouse, T.profileIds, cols.profileIdColumns);
      await ensureTable(warehouse, T.edges, cols.edgeColumns);
      await ensureTable(warehouse, T.blocked, cols.blockedColumns);
      await ensureTable(warehouse, T.limitRejections, cols.limitRejectionColumns);
      await ensureTable(warehouse, T.watermarks, cols.watermarkColumns);
      await ensureTable(warehouse, T.runs, cols.runColumns);
      await ensureTable(warehouse, T.merges, cols.mergeColumns);
      const [last] = await warehouse.query(`SELECT MAX(${q('run')}) AS ${q('run')} FROM ${Q(T.runs)}`);
      run = Number(last?.run ?? 0) + 1;
      const hasState = (await countRows(warehouse, T.edges)) > 0;
      mode = options.fullRefresh || !hasState ? 'full' : 'incremental';
      await warehouse.execute(`INSERT INTO ${Q(T.runs)} (${q('run')}, ${q('mode')}, ${q('started_at')}) VALUES (${run}, ${d.literal(mode)}, ${d.now()})`);
      return `run ${run}, ${mode}`;
    });

    await step('stage', async () => {
      for (const { source, ref } of stages) {
        const since =
          mode === 'incremental' && source.timestamp !== undefined
            ? `${q('_ts')} > (SELECT COALESCE(MAX(w.${q('max_seen')}), ${d.cast(d.literal('0001-01-01 00:00:00'), 'timestamp')}) FROM ${Q(T.watermarks)} AS w WHERE w.${q('source')} = ${d.literal(source.name)})`
            : undefined;
        await createScratch(warehouse, ref, stagedRowsSql(d, plan, source, since));
        counts.stagedRows += await countRows(warehouse, ref);
      }
      return `${counts.stagedRows} rows`;
    });

    await step('edges', async () => {
      const edgeParts = stages.map(({ source, ref }) => `SELECT * FROM (${edgesFromStageSql(d, source, Q(ref))}) AS e`);
      const blockedParts = stages.map(({ source, ref }) => `SELECT * FROM (${blockedFromStageSql(d, source, Q(ref))}) AS b`);
      await createScratch(warehouse, scratch.newEdges, mergedEdgesSql(d, edgeParts));
      await createScratch(warehouse, scratch.newBlocked, mergedBlockedSql(d, blockedParts));
      counts.newEdges = await countRows(warehouse, scratch.newEdges);
      return `${counts.newEdges} new edges`;
    });

    await step('affected', async () => {
      if (mode === 'full') {
        await createScratch(warehouse, scratch.affected, endpointsSql(d, Q(scratch.newEdges)));
      } else {
        await createScratch(warehouse, scratch.affected, affectedSql(d, Q(scratch.newEdges), Q(T.registry)));
      }
      counts.affectedIdentifiers = await countRows(warehouse, scratch.affected);
      return `${counts.affectedIdentifiers} identifiers to resolve`;
    });

    await step('nodes', async () => {
      // Full: the new edges are all edges. Incremental: stored ∪ new, restricted to affected.
      const allEdges =
        mode === 'full'
          ? Q(scratch.newEdges)
          : `(${mergedEdgesSql(d, [`SELECT * FROM ${Q(T.edges)}`, `SELECT * FROM ${Q(scratch.newEdges)}`])})`;
      await createScratch(warehouse, scratch.subEdges, subEdgesSql(d, allEdges, Q(scratch.affected)));
      await createScratch(warehouse, scratch.nodes, nodesSql(d, Q(scratch.subEdges)));
      await createScratch(warehouse, scratch.pairs, pairsSql(d, Q(scratch.subEdges), Q(scratch.nodes)));
      await createScratch(warehouse, scratch.intEdges, `SELECT ${q('src')}, ${q('dst')} FROM ${Q(scratch.pairs)}`);
      return `${await countRows(warehouse, scratch.nodes)} nodes, ${await countRows(warehouse, scratch.pairs)} pairs`;
    });

    await step('components', async () => {
      await warehouse.execute(d.dropTableIfExists(scratch.cc));
      const cc = await connectedComponents(warehouse, { edges: scratch.intEdges, output: scratch.cc, scratchSchema: T.scratchSchema, strategy: options.strategy ?? 'auto' });
      counts.componentRounds = cc.rounds;
      return `${cc.components} components in ${cc.rounds} round(s) (${cc.strategy})`;
    });

    await step('limits', async () => {
      const outcome = await enforceLimits(warehouse, plan.rules, {
        cc: scratch.cc, nodes: scratch.nodes, pairs: scratch.pairs, violating: scratch.violating, limited: scratch.limited, rejected: scratch.limitRejected,
      });
      counts.violatingComponents = outcome.violatingComponents;
      return `${outcome.violatingComponents} component(s) over a limit, ${outcome.rejectedEdges} edge(s) rejected`;
    });

    const ids = {
      members: Q(scratch.members), registry: Q(T.registry), profileIds: Q(T.profileIds),
      overlap: Q(scratch.overlap), choice: Q(scratch.choice), assign: Q(scratch.assign),
    };
    await step('stable ids', async () => {
      await createScratch(warehouse, scratch.members, membersSql(d, Q(scratch.cc), Q(scratch.limited), Q(scratch.nodes)));
      await createScratch(warehouse, scratch.overlap, overlapSql(d, ids));
      await createScratch(warehouse, scratch.choice, choiceSql(d, ids));
      await createScratch(warehouse, scratch.assign, assignSql(d, ids, run));
      const [events] = await warehouse.query(
        `SELECT SUM(CASE WHEN ${q('kind')} = 'merge' THEN 1 ELSE 0 END) AS ${q('merges')}, SUM(CASE WHEN ${q('kind')} = 'split' THEN 1 ELSE 0 END) AS ${q('splits')} FROM (${eventsSql(d, ids, run, d.now())}) AS e`,
      );
      counts.merges = Number(events?.merges ?? 0);
      counts.splits = Number(events?.splits ?? 0);
      const [created] = await warehouse.query(`SELECT COALESCE(SUM(${q('is_new')}), 0) AS ${q('n')} FROM ${Q(scratch.assign)}`);
      counts.newProfiles = Number(created?.n ?? 0);
      return `${counts.newProfiles} new, ${counts.merges} merge(s), ${counts.splits} split(s)`;
    });

    await step('state', async () => {
      const registryCols = cols.registryColumns.map((c) => q(c.name)).join(', ');
      const limitCols = cols.limitRejectionColumns.map((c) => q(c.name)).join(', ');
      const mergeCols = cols.mergeColumns.map((c) => q(c.name)).join(', ');
      const inAffected = (alias: string, type: string, value: string) =>
        `EXISTS (SELECT 1 FROM ${Q(scratch.affected)} AS a WHERE a.${q('t')} = ${alias}.${q(type)} AND a.${q('v')} = ${alias}.${q(value)})`;
      const fullScanned = stages.filter(({ source }) => source.timestamp === undefined).map(({ source }) => d.literal(source.name));
      const statements = [
        `INSERT INTO ${Q(T.merges)} (${mergeCols}) ${eventsSql(d, ids, run, d.now())}`,
        `INSERT INTO ${Q(T.profileIds)} (${q('profile_id')}, ${q('created_run')}, ${q('first_seen')}) SELECT ${q('profile_id')}, ${run}, ${q('first_seen')} FROM ${Q(scratch.assign)} WHERE ${q('is_new')} = 1`,
      ];
      await warehouse.executeAll(statements);
      if (mode === 'full') {
        await replaceTable(warehouse, T.edges, `SELECT * FROM ${Q(scratch.newEdges)}`);
        await replaceTable(warehouse, T.blocked, `SELECT * FROM ${Q(scratch.newBlocked)}`);
        await replaceTable(warehouse, T.registry, registryRowsSql(d, ids));
        await replaceTable(warehouse, T.limitRejections, limitRejectionRowsSql(d, Q(scratch.limitRejected), Q(scratch.pairs), Q(scratch.nodes)));
      } else {
        await replaceTable(warehouse, T.edges, mergedEdgesSql(d, [`SELECT * FROM ${Q(T.edges)}`, `SELECT * FROM ${Q(scratch.newEdges)}`]));
        const keptBlocked = fullScanned.length ? ` WHERE ${q('source')} NOT IN (${fullScanned.join(', ')})` : '';
        await replaceTable(warehouse, T.blocked, mergedBlockedSql(d, [`SELECT * FROM ${Q(T.blocked)}${keptBlocked}`, `SELECT * FROM ${Q(scratch.newBlocked)}`]));
        await warehouse.executeAll([
          `DELETE FROM ${Q(T.registry)} AS r WHERE ${inAffected('r', 'identifier_type', 'identifier_value')}`,
          `INSERT INTO ${Q(T.registry)} (${registryCols}) ${registryRowsSql(d, ids)}`,
          `DELETE FROM ${Q(T.limitRejections)} AS l WHERE ${inAffected('l', 'a_type', 'a_value')}`,
          `INSERT INTO ${Q(T.limitRejections)} (${limitCols}) ${limitRejectionRowsSql(d, Q(scratch.limitRejected), Q(scratch.pairs), Q(scratch.nodes))}`,
        ]);
      }
      const marks = stages
        .filter(({ source }) => source.timestamp !== undefined)
        .map(({ source, ref }) => `SELECT ${d.literal(source.name)} AS ${q('source')}, MAX(${q('_ts')}) AS ${q('max_seen')} FROM ${Q(ref)}`);
      await replaceTable(
        warehouse,
        T.watermarks,
        `SELECT ${q('source')}, MAX(${q('max_seen')}) AS ${q('max_seen')} FROM (SELECT ${q('source')}, ${q('max_seen')} FROM ${Q(T.watermarks)}${marks.map((m) => `\n  UNION ALL ${m}`).join('')}) AS w WHERE ${q('max_seen')} IS NOT NULL GROUP BY ${q('source')}`,
      );
    });

    await step('outputs', async () => {
      await replaceTable(warehouse, T.graph, identityGraphSql(d, Q(T.registry)));
      await replaceTable(warehouse, T.rejections, rejectionsSql(d, Q(T.blocked), Q(T.limitRejections), Q(T.registry)));
      const memberships = membershipsSql(d, plan, Q(T.registry));
      let currentAccount: string | undefined;
      if (memberships) {
        await replaceTable(warehouse, T.memberships, memberships);
        await createScratch(warehouse, scratch.currentAccount, currentAccountSql(d, Q(T.memberships)));
        currentAccount = Q(scratch.currentAccount);
      }
      const accounts = accountsSql(d, plan, memberships ? Q(T.memberships) : undefined);
      if (accounts) await replaceTable(warehouse, T.accounts, accounts);
      const traitRows = traitRowsSql(d, plan, Q(T.registry));
      if (traitRows) await createScratch(warehouse, scratch.traitRows, traitRows);
      await replaceTable(warehouse, T.profiles, profilesSql(d, plan, Q(T.registry), traitRows ? Q(scratch.traitRows) : undefined, currentAccount));
      counts.identifiers = await countRows(warehouse, T.graph);
      counts.profiles = await countRows(warehouse, T.profiles);
      const [rej] = await warehouse.query(
        `SELECT SUM(CASE WHEN ${q('kind')} = 'limit' THEN 1 ELSE 0 END) AS ${q('limits')}, SUM(CASE WHEN ${q('kind')} <> 'limit' THEN 1 ELSE 0 END) AS ${q('blocked')} FROM ${Q(T.rejections)}`,
      );
      counts.limitRejections = Number(rej?.limits ?? 0);
      counts.blockedValues = Number(rej?.blocked ?? 0);
      return `${counts.profiles} profiles, ${counts.identifiers} identifiers`;
    });

    await step('cleanup', async () => {
      if (options.keepScratch) return 'kept';
      for (const ref of [...Object.values(scratch), ...stages.map((s) => s.ref)]) await warehouse.execute(d.dropTableIfExists(ref));
    });
    return { ok: true, run, mode, steps, counts };
  } catch (error) {
    for (const name of STEPS.slice(steps.length)) steps.push({ step: name, status: 'skipped', ms: 0 });
    const wrapped =
      error instanceof CdpError ? error : new CdpError(`identity run failed: ${messageOf(error)}`, { code: 'IDENTITY', kind: 'runtime', where: 'identity', cause: error });
    return { ok: false, run, mode, steps, counts, error: wrapped };
  }
}

