/**
 * Segments over HTTP: list (with the size at the last materialisation), a live size with
 * the count after each condition group, a masked preview, and pairwise overlap — the calls
 * a marketer's screen makes while looking at audiences. Definitions stay code
 * (segments/*.yml); the plan is reused while they are unchanged, so an edited file is seen
 * at once.
 * A draft (a definition the rule builder is editing, not saved anywhere) is sized live too:
 * `POST /segments/size` plans it against the current catalog exactly like a file segment.
 * Creating and updating rule segments through the API is not built yet.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { formatZodIssue } from '../../project';
import { ValidationError } from '../../scheduler';
import { AuthError } from '../auth';
import { checkRuleTree, listSegmentFiles, listSegments, loadSegmentsPlan, planSegments, previewSegment, segmentFileSchema, segmentOverlap, segmentSize, SEGMENTS_CONFIG_FILE, type SegmentFile, type SegmentsPlan } from '../../segments';
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

/** The name a draft is planned under (never written: no file, no table). */
const DRAFT_NAME = '__draft';

/**
 * Plans an unsaved definition against the current plan's catalog, as if it were
 * `segments/__draft.yml`. A rule error is a 400 whose issues carry the rule's path and the
 * message the CLI prints for the same rule (`rules.all.0.trait: unknown trait … — hint`).
 */
function planDraft(current: SegmentsPlan, spec: SegmentFile): SegmentsPlan {
  const issues: { path: string; message: string }[] = [];
  if (spec.rules !== undefined) {
    for (const issue of checkRuleTree(spec.rules, spec.over, current.catalog, ['rules']).issues) {
      const zodIssue = (issue.zodIssue ? { ...issue.zodIssue, path: issue.path } : { code: 'custom', path: issue.path, message: issue.message }) as z.core.$ZodIssue;
      const { message, hint } = formatZodIssue(zodIssue);
      issues.push({ path: issue.path.map(String).join('.'), message: `${message} — ${hint}` });
    }
  }
  if (issues.length) throw new ValidationError(issues);
  // Only the draft is planned (the others are already): no priority list can name it. A
  // request body is not a project file: `${NAME}` in it must not read the server's environment.
  const setup = { ...current, env: {}, config: { ...current.config, priority_lists: {} }, files: [{ name: DRAFT_NAME, file: `${DRAFT_NAME} (draft)`, text: JSON.stringify(spec) }] };
  const drafted = planSegments(setup, current.catalog);
  const draft = drafted.byName.get(DRAFT_NAME)!;
  const byName = new Map(current.byName);
  byName.set(DRAFT_NAME, draft);
  return { ...current, segments: [...current.segments.filter((s) => s.name !== DRAFT_NAME), draft], byName };
}

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
      method: 'POST',
      path: '/segments/size',
      scope: 'read',
      tag: 'segments',
      summary: 'Live size of an unsaved definition (the rule builder), with the count after each condition group',
      description:
        'The body is a segment file\'s definition (over, rules or sql, splits, exclude_holdout). It is planned against the current catalog like a file segment and sized; nothing is written. A rule error is 400 with the rule\'s path and the CLI\'s message.',
      body: segmentFileSchema,
      response: sizeSchema.omit({ segment: true }),
      handler: async ({ body, actor }) => {
        // In a file, raw SQL is reviewed code; in a request it would let any read token query
        // any table (counts leak data). Drafts with SQL need an admin token.
        if (containsSql(body) && actor?.scope !== 'admin') {
          throw new AuthError(403, 'a draft with raw SQL (sql: or a sql condition) needs the admin scope', 'build the draft from rules, or use an admin token');
        }
        const { size, steps } = await segmentSize(ctx.runtime.warehouse, planDraft(await plan(), body), DRAFT_NAME);
        return { size, steps };
      },
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

/** True when any object in the draft has a `sql` key (a sql: segment or a raw SQL condition). */
function containsSql(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(containsSql);
  if (value === null || typeof value !== 'object') return false;
  return Object.entries(value).some(([key, inner]) => (key === 'sql' && inner !== undefined) || containsSql(inner));
}
