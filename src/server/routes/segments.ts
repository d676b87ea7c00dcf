/**
 * Segments over HTTP: list (with the size at the last materialisation), a live size with
 * the count after each condition group, a masked preview, and pairwise overlap — the calls
 * a marketer's screen makes while looking at audiences. Definitions stay code
 * (segments/*.yml); the plan is reused while they are unchanged, so an edited file is seen
 * at once.
 * Creating and updating rule segments through the API is not built yet.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { listSegmentFiles, listSegments, loadSegmentsPlan, previewSegment, segmentOverlap, segmentSize, SEGMENTS_CONFIG_FILE, type SegmentsPlan } from '../../segments';
import type { ServerContext } from '../context';
import { jsonValue } from '../context';
import { defineRoute, type RouteDef } from '../route-kit';

const segmentName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be an identifier' });
const nameParams = z.object({ name: segmentName });

const listingSchema = z.object({
  name: z.string(),
  file: z.string(),
  over: z.string(),
  kind: z.enum(['rules', 'sql']),
  description: z.string().optional(),
  splits: z.string(),
  exclude_holdout: z.boolean(),
  materialized_members: z.number().nullable(),
});

const sizeSchema = z.object({
  segment: z.string(),
  size: z.number(),
  steps: z.array(z.object({ label: z.string(), count: z.number() })),
});

/** How long a plan (definitions + the warehouse's column catalog) is reused while its files are unchanged. */
const PLAN_TTL_MS = 5_000;

export function segmentRoutes(ctx: ServerContext): RouteDef[] {
  // Planning reads every definition and introspects the warehouse: too slow to repeat on
  // each live-size call. Reuse it while the files are byte-identical and it is fresh (a
  // rebuilt profiles table can add columns, hence the short TTL).
  let cached: { signature: string; at: number; plan: Promise<SegmentsPlan> } | undefined;
  const plan = (): Promise<SegmentsPlan> => {
    const dir = ctx.runtime.project.dir;
    const config = join(dir, SEGMENTS_CONFIG_FILE);
    const texts = listSegmentFiles(dir).map((f) => `${f.file}\n${f.text}`);
    if (existsSync(config)) texts.push(readFileSync(config, 'utf8'));
    const signature = createHash('sha256').update(texts.join('\0')).digest('hex');
    if (!cached || cached.signature !== signature || Date.now() - cached.at > PLAN_TTL_MS) {
      const planned = loadSegmentsPlan(ctx.runtime.project, ctx.runtime.warehouse, ctx.runtime.env);
      // A failed plan (a broken file) is not kept: the next call reports the current state.
      planned.catch(() => (cached = undefined));
      cached = { signature, at: Date.now(), plan: planned };
    }
    return cached.plan;
  };
  return [
    defineRoute({
      method: 'GET',
      path: '/segments',
      scope: 'read',
      tag: 'segments',
      summary: 'Segments with their kind and members at the last materialisation',
      response: z.object({ segments: z.array(listingSchema) }),
      handler: async () => {
        const listing = await listSegments(ctx.runtime.warehouse, await plan());
        return {
          segments: listing.map((s) => ({
            name: s.name,
            file: s.file,
            over: s.over,
            kind: s.kind,
            description: s.description,
            splits: s.splits,
            exclude_holdout: s.excludeHoldout,
            materialized_members: s.materialized ?? null,
          })),
        };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/segments/{name}/size',
      scope: 'read',
      tag: 'segments',
      summary: 'Live size, with the count after each condition group',
      params: nameParams,
      response: sizeSchema,
      handler: async ({ params }) => segmentSize(ctx.runtime.warehouse, await plan(), params.name),
    }),
    defineRoute({
      method: 'GET',
      path: '/segments/{name}/preview',
      scope: 'read',
      tag: 'segments',
      summary: 'Sample members with chosen traits; personal data masked (unmask needs the admin scope)',
      params: nameParams,
      query: z.object({
        limit: z.coerce.number().int().min(1).max(100).default(10),
        columns: z.string().optional().describe('comma-separated trait columns'),
      }),
      response: z.object({ segment: z.string(), rows: z.array(z.record(z.string(), z.unknown())) }),
      handler: async ({ params, query }) => {
        const columns = query.columns?.split(',').map((c) => c.trim()).filter(Boolean);
        // The API never unmasks: a screen that shows samples has no need for raw PII.
        const rows = await previewSegment(ctx.runtime.warehouse, await plan(), params.name, { columns, limit: query.limit, unmask: false });
        return { segment: params.name, rows: rows.map((r) => jsonValue(r) as Record<string, unknown>) };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/segments/overlap',
      scope: 'read',
      tag: 'segments',
      summary: 'Pairwise overlap of two or more segments of the same kind',
      query: z.object({ names: z.string().describe('comma-separated segment names (two or more)') }),
      response: z.object({
        segments: z.array(z.string()),
        sizes: z.record(z.string(), z.number()),
        pairs: z.array(z.object({ a: z.string(), b: z.string(), both: z.number() })),
      }),
      handler: async ({ query }) => {
        const names = query.names.split(',').map((n) => segmentName.parse(n.trim()));
        return segmentOverlap(ctx.runtime.warehouse, await plan(), names);
      },
    }),
  ];
}
