/** Models: list (with each one's last build), one model, and trigger a build (a job). */
import { z } from 'zod';
import { CdpError } from '../../errors';
import { getJob } from '../../scheduler';
import type { ServerContext } from '../context';
import { defineRoute, type RouteDef } from '../route-kit';
import { jobSchema, jobView } from './system';

const lastRunSchema = z.object({ run_id: z.string(), status: z.string(), build_kind: z.string().nullable(), rows: z.number().nullable(), started_at: z.string(), duration_ms: z.number(), message: z.string().nullable() }).nullable();
const modelSchema = z.object({
  name: z.string(),
  path: z.string(),
  materialized: z.string(),
  schema: z.string().nullable(),
  relation: z.string(),
  depends_on: z.array(z.string()),
  tags: z.array(z.string()),
  description: z.string().nullable(),
  last_run: lastRunSchema,
});

export function modelRoutes(ctx: ServerContext): RouteDef[] {
  const db = ctx.runtime.control;
  const lastRuns = async (): Promise<Map<string, z.infer<typeof lastRunSchema>>> => {
    // The latest result per model: one query, newest first, first one wins.
    const rows = z
      .array(z.object({ run_id: z.string(), model: z.string(), status: z.string(), build_kind: z.string().nullable(), rows: z.coerce.number().nullable(), started_at: z.coerce.date(), duration_ms: z.coerce.number(), message: z.string().nullable() }))
      .parse(await db.knex('cdp_model_runs').join('cdp_runs', 'cdp_runs.id', 'cdp_model_runs.run_id').where('cdp_runs.project', ctx.runtime.name).orderBy('cdp_model_runs.started_at', 'desc').limit(5000).select('cdp_model_runs.*'));
    const latest = new Map<string, z.infer<typeof lastRunSchema>>();
    for (const r of rows) if (!latest.has(r.model)) latest.set(r.model, { run_id: r.run_id, status: r.status, build_kind: r.build_kind, rows: r.rows, started_at: r.started_at.toISOString(), duration_ms: r.duration_ms, message: r.message });
    return latest;
  };
  const view = (m: ReturnType<typeof ctx.runtime.compiled>['models'][number], last: z.infer<typeof lastRunSchema> | undefined): z.infer<typeof modelSchema> => ({
    name: m.name,
    path: m.path,
    materialized: m.config.materialized,
    schema: m.ref.schema ?? null,
    relation: [m.ref.schema, m.ref.name].filter(Boolean).join('.'),
    depends_on: m.dependsOn,
    tags: m.config.tags,
    description: m.config.description ?? null,
    last_run: last ?? null,
  });
  return [
    defineRoute({
      method: 'GET',
      path: '/models',
      scope: 'read',
      tag: 'models',
      summary: 'Models in dependency order, each with its last build',
      response: z.array(modelSchema),
      handler: async () => {
        const last = await lastRuns();
        return ctx.runtime.compiled().models.map((m) => view(m, last.get(m.name)));
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/models/{name}',
      scope: 'read',
      tag: 'models',
      summary: 'One model with its last build',
      params: z.object({ name: z.string() }),
      response: modelSchema,
      handler: async ({ params }) => {
        const model = ctx.runtime.compiled().models.find((m) => m.name === params.name);
        if (!model) throw new CdpError('no such model', { code: 'NOT_FOUND', kind: 'config', where: `model ${params.name}` });
        return view(model, (await lastRuns()).get(model.name));
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/models/run',
      scope: 'write',
      tag: 'models',
      summary: 'Build models (all, or a selection) as a job; `after: [models]` schedules follow it',
      body: z.strictObject({ select: z.array(z.string().min(1)).default([]) }),
      status: 202,
      response: jobSchema,
      handler: async ({ body, actor }) => {
        const id = await ctx.service.enqueue({ kind: 'models', target: 'all', trigger: 'api', options: body.select.length ? { select: body.select } : undefined });
        await ctx.audit(actor, 'trigger', 'models', body.select.join(' ') || 'all', undefined, { job: id });
        return jobView((await getJob(db, id))!);
      },
    }),
  ];
}
