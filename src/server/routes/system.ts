/** Health, metrics, the OpenAPI document, jobs, schedules, tokens and the audit log. */
import { z } from 'zod';
import { CdpError } from '../../errors';
import { getJob, jobKinds, jobStatuses, listJobs, scheduleSpecSchema, scheduleViewSchema, type JobRecord } from '../../scheduler';
// The scheduler owns the view it produces; the route answers exactly that schema.
import { listAudit } from '../audit';
import { createToken, listTokens, revokeToken, scopes } from '../auth';
import type { ServerContext } from '../context';
import type { Metrics } from '../metrics';
import { defineRoute, type RouteDef } from '../route-kit';

export const jobSchema = z.object({
  id: z.string(),
  kind: z.enum(jobKinds),
  target: z.string(),
  trigger: z.string(),
  status: z.enum(jobStatuses),
  fire_at: z.string().nullable(),
  queued_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  attempts: z.number(),
  worker: z.string().nullable(),
  run_id: z.string().nullable(),
  message: z.string().nullable(),
});

export function jobView(job: JobRecord): z.infer<typeof jobSchema> {
  return {
    ...job,
    fire_at: job.fire_at?.toISOString() ?? null,
    queued_at: job.queued_at.toISOString(),
    started_at: job.started_at?.toISOString() ?? null,
    finished_at: job.finished_at?.toISOString() ?? null,
    message: job.status === 'queued' ? null : job.message,
  };
}

/** `models`, `segments`, or `sync:<name>`. */
const keyParams = z.object({
  key: z.string().regex(/^(models|segments|sync:[A-Za-z_][A-Za-z0-9_]*)$/, { message: 'must be models, segments or sync:<sync name>' }),
});

const noSchedule = (key: string) =>
  new CdpError('no such schedule', { code: 'NOT_FOUND', kind: 'config', where: `schedule ${key}`, hint: key.startsWith('sync:') ? 'GET /syncs lists the syncs; every sync has a schedule row once the server has loaded it' : `set it first with PUT /schedules/${key}` });

/** Models and segments schedules are the API's; a sync's follows its definition (files are code). */
function buildKey(key: string, doing: 'set' | 'remove'): 'models' | 'segments' {
  if (key === 'models' || key === 'segments') return key;
  const sync = key.slice('sync:'.length);
  throw new CdpError(`the schedule of sync ${sync} lives in its definition; the API does not ${doing === 'set' ? 'replace' : 'remove'} it`, {
    code: 'CONFLICT',
    kind: 'config',
    where: `schedule ${key}`,
    hint: `change schedule: in the sync (its file, or PUT /syncs/${sync}); pause or resume it with PATCH /schedules/${key} {"paused": true|false}`,
  });
}

export function systemRoutes(ctx: ServerContext, metrics: Metrics, openapi: () => Record<string, unknown>): RouteDef[] {
  const db = ctx.runtime.control;
  return [
    defineRoute({
      method: 'GET',
      path: '/health',
      scope: 'public',
      tag: 'system',
      summary: 'Liveness and readiness: the control DB and the warehouse answer',
      response: z.object({ status: z.enum(['ok', 'degraded']), control_db: z.boolean(), warehouse: z.boolean(), queue: z.string(), worker: z.string() }),
      handler: async () => {
        const control = await db.knex.raw('select 1').then(() => true, () => false);
        const warehouse = await ctx.runtime.warehouse.query('SELECT 1 AS ok').then(() => true, () => false);
        return { status: control && warehouse ? ('ok' as const) : ('degraded' as const), control_db: control, warehouse, queue: ctx.service.queue.name, worker: ctx.service.workerId };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/openapi.json',
      scope: 'public',
      tag: 'system',
      summary: 'This API described as OpenAPI 3.1',
      response: z.record(z.string(), z.unknown()),
      handler: async () => openapi(),
    }),
    defineRoute({
      method: 'GET',
      path: '/metrics',
      scope: 'read',
      tag: 'system',
      summary: 'Prometheus metrics (text format)',
      response: z.string(),
      text: true,
      handler: async () => {
        const byStatus = z.array(z.object({ kind: z.string(), status: z.string(), n: z.coerce.number() })).parse(await db.knex('cdp_jobs').where({ project: ctx.runtime.name }).select('kind', 'status').count({ n: '*' }).groupBy('kind', 'status'));
        const schedules = await ctx.service.scheduler.list();
        return metrics.render([
          { name: 'cdp_jobs', help: 'Jobs in the control DB by kind and status.', samples: byStatus.map((r) => ({ labels: { kind: r.kind, status: r.status }, value: r.n })) },
          {
            name: 'cdp_schedule_next_fire_timestamp_seconds',
            help: 'When each schedule fires next (unix seconds).',
            samples: schedules.filter((s) => s.next_fire_at).map((s) => ({ labels: { schedule: s.key }, value: Math.round(Date.parse(s.next_fire_at!) / 1000) })),
          },
        ]);
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/jobs',
      scope: 'read',
      tag: 'jobs',
      summary: 'Recent jobs (fires, chain steps, triggers) with their status',
      query: z.object({ kind: z.enum(jobKinds).optional(), target: z.string().optional(), status: z.enum(jobStatuses).optional(), limit: z.coerce.number().int().min(1).max(500).default(50) }),
      response: z.array(jobSchema),
      handler: async ({ query }) => (await listJobs(db, ctx.runtime.name, query)).map(jobView),
    }),
    defineRoute({
      method: 'GET',
      path: '/jobs/{id}',
      scope: 'read',
      tag: 'jobs',
      summary: 'One job',
      params: z.object({ id: z.string() }),
      response: jobSchema,
      handler: async ({ params }) => {
        const job = await getJob(db, params.id);
        if (!job || job.project !== ctx.runtime.name) throw new CdpError('no such job', { code: 'NOT_FOUND', kind: 'config', where: `job ${params.id}` });
        return jobView(job);
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/schedules',
      scope: 'read',
      tag: 'schedules',
      summary: 'Every schedule with its next and last fire',
      response: z.array(scheduleViewSchema),
      handler: async () => ctx.service.scheduler.list(),
    }),
    defineRoute({
      method: 'PUT',
      path: '/schedules/{key}',
      scope: 'write',
      tag: 'schedules',
      summary: 'Schedule model or segment builds (a sync schedule lives in the sync definition: 409)',
      description: 'A paused schedule stays paused when its spec is replaced. `sync:<name>` keys are 409: change the schedule in the sync (its file, or PUT /syncs/{name}); pause it with PATCH.',
      params: keyParams,
      body: scheduleSpecSchema,
      response: scheduleViewSchema,
      conflict: 'the key is a sync schedule (sync:<name>): it lives in the sync definition',
      handler: async ({ params, body, actor }) => {
        const key = buildKey(params.key, 'set');
        const before = (await ctx.service.scheduler.list()).find((s) => s.key === key);
        const after = await ctx.service.scheduler.set({ key, spec: body });
        await ctx.audit(actor, before ? 'update' : 'create', 'schedule', key, before?.spec, after.spec);
        return after;
      },
    }),
    defineRoute({
      method: 'PATCH',
      path: '/schedules/{key}',
      scope: 'write',
      tag: 'schedules',
      summary: 'Pause or resume a schedule: models, segments, or a sync (sync:<name>, also one defined in a file)',
      description:
        'Paused: the schedule does not fire and `after:` chains skip it; its definition is unchanged, so a file sync stays as reviewed. A manual trigger (POST /syncs/{name}/trigger, POST /segments/run) still runs. Resumed: the next fire is counted from now — fires missed while paused are not caught up.',
      params: keyParams,
      body: z.strictObject({ paused: z.boolean() }),
      response: scheduleViewSchema,
      handler: async ({ params, body, actor }) => {
        const before = (await ctx.service.scheduler.list()).find((s) => s.key === params.key);
        if (!before) throw noSchedule(params.key);
        const after = await ctx.service.scheduler.pause(params.key, body.paused);
        if (!after) throw noSchedule(params.key);
        if (before.paused !== after.paused) await ctx.audit(actor, body.paused ? 'pause' : 'resume', 'schedule', params.key, { paused: before.paused }, { paused: after.paused });
        return after;
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/schedules/{key}',
      scope: 'write',
      tag: 'schedules',
      summary: 'Remove a models or segments schedule (a sync schedule is 409: it follows the sync definition)',
      params: keyParams,
      response: z.object({ deleted: z.boolean() }),
      conflict: 'the key is a sync schedule (sync:<name>): it lives in the sync definition',
      handler: async ({ params, actor }) => {
        const key = buildKey(params.key, 'remove');
        const before = (await ctx.service.scheduler.list()).find((s) => s.key === key);
        const deleted = await ctx.service.scheduler.remove(key);
        if (deleted) await ctx.audit(actor, 'delete', 'schedule', key, before?.spec, undefined);
        return { deleted };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/audit',
      scope: 'admin',
      tag: 'admin',
      summary: 'The audit log, newest first (secrets redacted)',
      query: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
      response: z.array(z.object({ id: z.number(), at: z.string(), actor: z.string(), action: z.string(), target_type: z.string(), target: z.string(), before: z.unknown().nullable(), after: z.unknown().nullable() })),
      handler: async ({ query }) => listAudit(db, ctx.runtime.name, query.limit),
    }),
    defineRoute({
      method: 'GET',
      path: '/tokens',
      scope: 'admin',
      tag: 'admin',
      summary: 'API tokens (never their secrets)',
      response: z.array(z.object({ id: z.string(), name: z.string(), scope: z.enum(scopes), created_at: z.string(), last_used_at: z.string().nullable(), revoked_at: z.string().nullable() })),
      handler: async () =>
        (await listTokens(db)).map((t) => ({ ...t, created_at: t.created_at.toISOString(), last_used_at: t.last_used_at?.toISOString() ?? null, revoked_at: t.revoked_at?.toISOString() ?? null })),
    }),
    defineRoute({
      method: 'POST',
      path: '/tokens',
      scope: 'admin',
      tag: 'admin',
      summary: 'Create an API token; the token is in this answer only',
      body: z.strictObject({ name: z.string().min(1).max(100), scope: z.enum(scopes) }),
      status: 201,
      response: z.object({ id: z.string(), name: z.string(), scope: z.enum(scopes), token: z.string() }),
      handler: async ({ body, actor }) => {
        const created = await createToken(db, body.name, body.scope);
        await ctx.audit(actor, 'create', 'token', created.id, undefined, { name: body.name, scope: body.scope });
        return { id: created.id, name: body.name, scope: body.scope, token: created.token };
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/tokens/{id}',
      scope: 'admin',
      tag: 'admin',
      summary: 'Revoke a token',
      params: z.object({ id: z.string() }),
      response: z.object({ revoked: z.number() }),
      handler: async ({ params, actor }) => {
        const revoked = await revokeToken(db, params.id);
        if (revoked) await ctx.audit(actor, 'revoke', 'token', params.id, undefined, undefined);
        return { revoked };
      },
    }),
  ];
}
