/**
 * Syncs over the sync engine's public API: list and read (files and API), create/update/
 * delete API syncs (validated by the engine's own loader: destination, object, mode,
 * consent purpose), plan (a dry run, nothing sent), trigger and retry (jobs in the sync's
 * lane, so never two runs at once), runs and rejected rows. For the UI's new-sync wizard, two
 * small reads: a source's columns with their kind (mapping suggestions and type checks) and
 * the consent purposes of consent.yml.
 */
import { z } from 'zod';
import { CdpError } from '../../errors';
import { AuthError } from '../auth';
import { getJob, parseScheduleValue, ValidationError } from '../../scheduler';
import { apiSegmentRecords, listSegmentFiles, loadSegmentsPlan, segmentMembersRef, valueKindOf, type ValueKind } from '../../segments';
import { dryRunSync, loadSyncProject, rejectedRows, runMatchRate, storedSyncs, syncFileSchema, syncRuns, type LoadedSync } from '../../sync';
import type { ServerContext } from '../context';
import { jsonValue } from '../context';
import type { TableRef } from '../../warehouse';
import { zodIssues } from '../errors-http';
import { defineRoute, type RouteDef } from '../route-kit';
import { jobSchema, jobView } from './system';

const nameParams = z.object({ name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be an identifier' }) });

const countsSchema = z.record(z.string(), z.number());
const syncViewSchema = z.object({
  name: z.string(),
  origin: z.enum(['file', 'api']),
  file: z.string().nullable(),
  destination: z.string(),
  object: z.string(),
  mode: z.string(),
  enabled: z.boolean(),
  schedule: z.unknown(),
  next_fire_at: z.string().nullable(),
  definition: z.record(z.string(), z.unknown()),
});
const runSchema = z.object({
  id: z.string(),
  status: z.string(),
  trigger: z.string().nullable(),
  full: z.boolean(),
  retry_rejected: z.boolean(),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  counts: countsSchema.nullable(),
  timings: countsSchema.nullable(),
  message: z.string().nullable(),
  /** Ad-audience syncs (issue 9): the run's match-rate report (counts only); null otherwise. */
  match_rate: z
    .object({
      members: z.number(),
      withIdentifier: z.record(z.string(), z.number()),
      sent: z.number(),
      rejectedLocally: z.number(),
      reportedInvalid: z.number(),
      identifierShare: z.record(z.string(), z.number()),
      usableShare: z.number(),
    })
    .nullable(),
});

const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be an identifier' });
const sourceColumnsQuery = z.object({
  segment: identifier.optional(),
  model: identifier.optional(),
  table: z.string().regex(/^([A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be schema.table or table' }).optional(),
});
const sourceColumnsSchema = z.object({
  relation: z.string(),
  built: z.boolean().describe('false when the relation does not exist yet (a segment before its first build)'),
  columns: z.array(z.object({ name: z.string(), data_type: z.string().nullable(), kind: z.enum(['string', 'number', 'time', 'boolean']) })),
  exact: z
    .boolean()
    .describe(
      "false only for a sql: segment before its first build: the columns listed are its subject's (profiles or accounts) plus split_group — what `SELECT p.*` gives — while its own are known once it is built (nothing is run to find them)",
    ),
});

export function syncRoutes(ctx: ServerContext): RouteDef[] {
  const runtime = ctx.runtime;
  const readColumns = async (ref: TableRef) => {
    const rows = await runtime.warehouse.query<{ column_name: string; data_type: string }>(runtime.warehouse.dialect.columnsSql(ref));
    return rows.map((r) => ({ name: String(r.column_name).toLowerCase(), data_type: String(r.data_type), kind: valueKindOf(String(r.data_type)) }));
  };
  const relationName = (ref: TableRef) => (ref.schema ? `${ref.schema}.${ref.name}` : ref.name);
  /**
   * A segment's members table once built. Before that, the columns it will have: a rule
   * segment's rows are its subject's (profiles.* or accounts.*) plus split_group, exactly. A
   * `sql:` segment's rows are its query's own columns, which only its first build reveals
   * (the warehouse seam has no "describe this query", and a read route runs no DDL): it
   * answers its subject's columns too, flagged `exact: false` — what most sql: segments
   * select, and the wizard says so.
   */
  const segmentColumns = async (name: string): Promise<z.infer<typeof sourceColumnsSchema>> => {
    const known = [...listSegmentFiles(runtime.project.dir).map((f) => f.name), ...(await apiSegmentRecords(runtime.control, runtime.name)).map((r) => r.name)];
    if (!known.includes(name)) throw new CdpError('no such segment', { code: 'NOT_FOUND', kind: 'config', where: `segment ${name}`, hint: 'GET /segments lists the segments' });
    // Any error here (segments.yml or identity.yml unreadable) is the user's to see, not a reason to guess.
    const ref = segmentMembersRef(runtime.project, name, runtime.env, known);
    const built = await readColumns(ref);
    if (built.length) return { relation: relationName(ref), built: true, columns: built, exact: true };
    const plan = await loadSegmentsPlan(runtime.project, runtime.warehouse, runtime.env, { control: runtime.control, keepGoing: true });
    const segment = plan.byName.get(name);
    if (!segment) throw plan.broken.get(name)?.error ?? new CdpError('no such segment', { code: 'NOT_FOUND', kind: 'config', where: `segment ${name}`, hint: 'GET /segments lists the segments' });
    const subject: Map<string, ValueKind> | undefined = segment.over === 'accounts' ? plan.catalog.accounts : plan.catalog.profiles;
    const columns = [...(subject ?? new Map<string, ValueKind>())].map(([column, kind]) => ({ name: column, data_type: null, kind }));
    return { relation: relationName(ref), built: false, columns: [...columns, { name: 'split_group', data_type: null, kind: 'string' as const }], exact: segment.sql === undefined };
  };
  const view = async (sync: LoadedSync & { origin: 'file' | 'api' }): Promise<z.infer<typeof syncViewSchema>> => {
    const schedule = (await ctx.service.scheduler.list()).find((s) => s.key === `sync:${sync.name}`);
    return {
      name: sync.name,
      origin: sync.origin,
      file: sync.origin === 'file' ? sync.file : null,
      destination: sync.spec.destination,
      object: sync.spec.object,
      mode: sync.mode,
      enabled: sync.spec.enabled,
      schedule: sync.spec.schedule,
      next_fire_at: schedule?.next_fire_at ?? null,
      definition: sync.spec as unknown as Record<string, unknown>,
    };
  };
  const getSync = async (name: string) => {
    const sync = (await runtime.catalog()).syncs.get(name);
    if (!sync) throw new CdpError('no such sync', { code: 'NOT_FOUND', kind: 'config', where: `sync ${name}` });
    return sync;
  };
  const trigger = async (name: string, options: { full?: boolean; retry_rejected?: boolean; allow_deletions?: boolean }, actorAction: { actor: Parameters<ServerContext['audit']>[0]; action: string }) => {
    await getSync(name);
    const id = await ctx.service.enqueue({ kind: 'sync', target: name, trigger: 'api', options });
    await ctx.audit(actorAction.actor, actorAction.action, 'sync', name, undefined, { job: id, ...options });
    return jobView((await getJob(runtime.control, id))!);
  };
  const triggerBody = z.strictObject({ full: z.boolean().default(false), retry_rejected: z.boolean().default(false), allow_deletions: z.boolean().default(false) });
  return [
    defineRoute({
      method: 'GET',
      path: '/sync-sources/columns',
      scope: 'read',
      tag: 'syncs',
      summary: "A sync source's columns with their kind (string, number, time, boolean): the UI's mapping suggestions and type checks",
      description:
        "Give exactly one of segment, model or table (`table` needs the write scope: it names any relation in the warehouse, state tables included, and only a sync author needs it). A segment not built yet answers the columns it will have (built: false): a rule segment's are its subject's plus split_group; a sql: segment's own are known after its first build, so it answers its subject's, with exact: false.",
      query: sourceColumnsQuery,
      response: sourceColumnsSchema,
      handler: async ({ query, actor }) => {
        const given = (['segment', 'model', 'table'] as const).filter((k) => query[k] !== undefined);
        if (given.length !== 1) throw new ValidationError([{ path: 'query', message: 'give exactly one of segment, model or table' }]);
        if (query.table !== undefined && actor?.scope === 'read') throw new AuthError(403, 'listing the columns of any table needs the write scope', 'use segment= or model=, or a token with scope write');
        if (query.segment) return segmentColumns(query.segment);
        let ref: TableRef;
        if (query.model) {
          const model = runtime.compiled().models.find((m) => m.name === query.model);
          if (!model) throw new CdpError('no such model', { code: 'NOT_FOUND', kind: 'config', where: `model ${query.model}`, hint: 'GET /models lists the models' });
          ref = model.ref;
        } else {
          const [a, b] = query.table!.split('.');
          ref = b === undefined ? { schema: runtime.warehouse.defaultSchema, name: a! } : { schema: a!, name: b };
        }
        const columns = await readColumns(ref);
        return { relation: relationName(ref), built: columns.length > 0, columns, exact: true };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/consent-purposes',
      scope: 'read',
      tag: 'syncs',
      summary: 'Consent purposes from consent.yml (a sync sends only rows with consent for its purpose)',
      response: z.array(z.object({ name: z.string(), description: z.string().nullable(), model: z.string().nullable(), key: z.string().nullable(), column: z.string(), granted: z.array(z.string()) })),
      handler: async () =>
        Object.entries(loadSyncProject(runtime.project.dir, runtime.env).purposes)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([name, p]) => ({ name, description: p.description ?? null, model: p.model ?? null, key: p.key ?? null, column: p.column, granted: p.granted })),
    }),
    defineRoute({
      method: 'GET',
      path: '/syncs',
      scope: 'read',
      tag: 'syncs',
      summary: 'Syncs from files and the API, with their next scheduled run',
      response: z.array(syncViewSchema),
      handler: async () => Promise.all([...(await runtime.catalog()).syncs.values()].sort((a, b) => a.name.localeCompare(b.name)).map(view)),
    }),
    defineRoute({
      method: 'GET',
      path: '/syncs/{name}',
      scope: 'read',
      tag: 'syncs',
      summary: 'One sync',
      params: nameParams,
      response: syncViewSchema,
      handler: async ({ params }) => view(await getSync(params.name)),
    }),
    defineRoute({
      method: 'PUT',
      path: '/syncs/{name}',
      scope: 'write',
      tag: 'syncs',
      summary: 'Create or update a sync defined through the API (same shape as syncs/*.yml)',
      params: nameParams,
      body: z.record(z.string(), z.unknown()),
      response: syncViewSchema,
      handler: async ({ params, body, actor }) => {
        const parsed = syncFileSchema.safeParse(body);
        if (!parsed.success) throw new ValidationError(zodIssues(parsed.error));
        const catalog = await runtime.catalog();
        const existing = catalog.syncs.get(params.name);
        if (existing?.origin === 'file') throw new CdpError('this sync is defined in a file', { code: 'CONFLICT', kind: 'config', where: existing.file, hint: 'edit the file, or choose another name' });
        const definition = JSON.stringify(body);
        // The engine's loader does the cross-checks (destination, object, mode, purpose, mapping).
        const loaded = runtime.loadApiSync(params.name, definition, catalog.destinations, loadSyncProject(runtime.project.dir, runtime.env).purposes);
        parseScheduleValue(loaded.spec.schedule, `sync ${params.name}: schedule`);
        const now = new Date();
        const record = { project: runtime.name, name: params.name, origin: 'api', file: null, destination: loaded.spec.destination, mode: loaded.mode, schedule: typeof loaded.spec.schedule === 'string' ? loaded.spec.schedule : JSON.stringify(loaded.spec.schedule), definition, enabled: loaded.spec.enabled, updated_at: now };
        await runtime.control.knex.transaction(async (trx) => {
          await trx('cdp_syncs').where({ project: runtime.name, name: params.name }).delete();
          await trx('cdp_syncs').insert(record);
        });
        await ctx.service.reconcile();
        await ctx.audit(actor, existing ? 'update' : 'create', 'sync', params.name, existing?.spec, loaded.spec);
        return view({ ...loaded, origin: 'api' });
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/syncs/{name}',
      scope: 'write',
      tag: 'syncs',
      summary: 'Delete a sync defined through the API (its warehouse state stays)',
      params: nameParams,
      response: z.object({ deleted: z.boolean() }),
      handler: async ({ params, actor }) => {
        const stored = (await storedSyncs(runtime.control, runtime.name)).find((s) => s.name === params.name && s.origin === 'api');
        if (!stored) throw new CdpError('no such API sync', { code: 'NOT_FOUND', kind: 'config', where: `sync ${params.name}` });
        await runtime.control.knex('cdp_syncs').where({ project: runtime.name, name: params.name, origin: 'api' }).delete();
        await ctx.service.reconcile();
        await ctx.audit(actor, 'delete', 'sync', params.name, JSON.parse(stored.definition) as unknown, undefined);
        return { deleted: true };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/syncs/{name}/plan',
      scope: 'write',
      tag: 'syncs',
      summary: 'Dry run: what a run would send, with samples; sends nothing',
      params: nameParams,
      body: z.strictObject({ full: z.boolean().default(false), retry_rejected: z.boolean().default(false), samples: z.number().int().min(0).max(50).default(3) }),
      response: z.object({ sync: z.string(), counts: countsSchema, by_op: countsSchema, bookkeeping: z.number(), breaker: z.object({ message: z.string() }).passthrough().nullable(), samples: z.array(z.record(z.string(), z.unknown())), duration_ms: z.number() }),
      handler: async ({ params, body }) => {
        const target = await runtime.syncTarget(params.name);
        const { plan, samples } = await dryRunSync({ warehouse: runtime.warehouse, control: runtime.control, project: runtime.name, projectDir: runtime.project.dir }, target, { full: body.full, retryRejected: body.retry_rejected, samples: body.samples });
        return {
          sync: params.name,
          counts: plan.counts as unknown as Record<string, number>,
          by_op: plan.byOp as Record<string, number>,
          bookkeeping: plan.bookkeeping,
          breaker: plan.breaker ? (jsonValue(plan.breaker) as { message: string }) : null,
          samples: samples.map((s) => jsonValue(s) as Record<string, unknown>),
          duration_ms: plan.durationMs,
        };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/syncs/{name}/trigger',
      scope: 'write',
      tag: 'syncs',
      summary: 'Run the sync now (a job in its lane: waits for a running one)',
      params: nameParams,
      body: triggerBody,
      status: 202,
      response: jobSchema,
      handler: async ({ params, body, actor }) => trigger(params.name, body, { actor, action: 'trigger' }),
    }),
    defineRoute({
      method: 'POST',
      path: '/syncs/{name}/retry',
      scope: 'write',
      tag: 'syncs',
      summary: 'Run the sync now and resend rows rejected before',
      params: nameParams,
      status: 202,
      response: jobSchema,
      handler: async ({ params, actor }) => trigger(params.name, { retry_rejected: true }, { actor, action: 'retry' }),
    }),
    defineRoute({
      method: 'GET',
      path: '/syncs/{name}/runs',
      scope: 'read',
      tag: 'syncs',
      summary: 'Recent runs with counts, timings and messages',
      params: nameParams,
      query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(20) }),
      response: z.array(runSchema),
      handler: async ({ params, query }) =>
        (await syncRuns(runtime.control, runtime.name, params.name, query.limit)).map((r) => ({
          id: r.id,
          status: r.status,
          trigger: r.trigger,
          full: r.full,
          retry_rejected: r.retry_rejected,
          started_at: r.started_at.toISOString(),
          finished_at: r.finished_at?.toISOString() ?? null,
          counts: r.counts ? (JSON.parse(r.counts) as Record<string, number>) : null,
          timings: r.timings ? (JSON.parse(r.timings) as Record<string, number>) : null,
          message: r.message,
          match_rate: runMatchRate(r) ?? null,
        })),
    }),
    defineRoute({
      method: 'GET',
      path: '/syncs/{name}/rejected',
      scope: 'read',
      tag: 'syncs',
      summary: "Rows the destination rejected, with its reasons (read from the warehouse's state schema)",
      params: nameParams,
      query: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
      response: z.object({ total: z.number(), rows: z.array(z.record(z.string(), z.unknown())) }),
      handler: async ({ params, query }) => {
        const target = await runtime.syncTarget(params.name);
        const { total, rows } = await rejectedRows(runtime.warehouse, target.tables, query.limit);
        return { total, rows: rows.map((r) => jsonValue(r) as Record<string, unknown>) };
      },
    }),
  ];
}
