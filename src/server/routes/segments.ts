/**
 * Segments over HTTP: list and read (files and API ones alike, each with its definition and
 * its members SQL for this warehouse), live size with the count after each condition group,
 * a masked preview, pairwise overlap — and rule segments created, updated and deleted through
 * the API (the web UI's rule builder), stored in the control DB (`cdp_segments`).
 *
 * Files are code: the API never writes, shadows or deletes a segment a file defines (409,
 * naming the file to edit). Every write is checked by the loader's own checks — the rule
 * walker's catalog errors as 400 `issues[{path, message}]`, then the whole set planned again
 * (cycles, priority lists) — so the API and segments/*.yml accept exactly the same
 * definitions, and `cdp run`, the scheduler and sync sources see API segments like files.
 * Raw SQL (a `sql:` segment or condition) needs the admin scope: in a request it is not
 * reviewed code, and sizes over arbitrary SQL would leak data to read tokens.
 * A draft (`POST /segments/size`) is planned the same way, as `__draft`, and nothing is written.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYamlText } from 'yaml';
import { z } from 'zod';
import { CdpError } from '../../errors';
import { getJob, ValidationError } from '../../scheduler';
import {
  apiSegmentRecords,
  apiSegmentSource,
  checkSegmentFile,
  definitionIssues,
  deleteApiSegment,
  insertApiSegment,
  listSegmentFiles,
  listSegments,
  loadSegmentsPlan,
  membersSql,
  mergeSegmentSources,
  planSegments,
  previewSegment,
  replanWith,
  ruleCatalog,
  segmentFileSchema,
  segmentFileShape,
  segmentOverlap,
  segmentSize,
  segmentTrends,
  SEGMENTS_CONFIG_FILE,
  updateApiSegment,
  type PlannedSegment,
  type SegmentFile,
  type SegmentRecord,
  type SegmentsPlan,
} from '../../segments';
import { storedSyncs } from '../../sync';
import { AuthError, type Actor } from '../auth';
import type { ServerContext } from '../context';
import { jsonValue } from '../context';
import { defineRoute, type RouteDef } from '../route-kit';
import { jobSchema, jobView } from './system';

const identifierMessage = 'must be an identifier (letters, digits, _) — e.g. vip_customers';
const segmentName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: identifierMessage });
const nameParams = z.object({ name: segmentName });

/** The name a draft is planned under (never written: no file, no table). */
const DRAFT_NAME = '__draft';
/** Paths under /segments/ that are routes of their own: a segment so named could not be read back. */
const ROUTE_NAMES = ['catalog', 'overlap', 'run', 'size'];

/** A segment file's body plus its name: what `POST /segments` takes. */
const createBodySchema = z
  .strictObject({
    name: segmentName
      .refine((n) => n !== DRAFT_NAME, { message: `${DRAFT_NAME} is reserved for unsaved drafts — choose another name` })
      .refine((n) => !ROUTE_NAMES.includes(n), { message: `${ROUTE_NAMES.join(', ')} are routes under /segments/ — choose another name` }),
    ...segmentFileShape,
  })
  .superRefine(checkSegmentFile);

const segmentViewSchema = z.object({
  name: z.string(),
  origin: z.enum(['file', 'api']),
  /** The file defining it; null for an API segment. */
  file: z.string().nullable(),
  over: z.string(),
  kind: z.enum(['rules', 'sql']),
  description: z.string().optional(),
  splits: z.string(),
  exclude_holdout: z.boolean(),
  materialized_members: z.number().nullable(),
  /** The definition as written (a segments/*.yml body: over, rules or sql, splits …); `${NAME}` in a file is shown unresolved. */
  definition: z.record(z.string(), z.unknown()),
  /** The members query compiled for this project's warehouse. */
  sql: z.string(),
  created_by: z.string().nullable(),
  updated_at: z.string().nullable(),
});
type SegmentView = z.infer<typeof segmentViewSchema>;

/** How many runs the list's trend covers. */
const TREND_POINTS = 20;
const listedSegmentSchema = segmentViewSchema.extend({
  /** Members right after each of the last runs that changed the membership, oldest first ([] before the first build). */
  trend: z.array(z.object({ at: z.string(), members: z.number() })),
});

const kindSchema = z.enum(['string', 'number', 'time', 'boolean']);
const columnSchema = z.object({ name: z.string(), kind: kindSchema });
const catalogSchema = z.object({
  over: z.enum(['profiles', 'accounts']),
  traits: z.array(columnSchema).describe('columns of the subject a trait condition may name'),
  account_traits: z.array(columnSchema).nullable().describe("over profiles with B2B accounts: columns of the person's current account (account_trait); else null"),
  events: z
    .array(
      z.object({
        source: z.string(),
        names: z.array(z.string()).nullable().describe('event names seen; null when not listed (a fixed-name source, or more than 1,000 names)'),
        fixed_name: z.string().nullable(),
        timestamp: z.string(),
        properties: z.array(columnSchema).describe('columns a where filter or an aggregate may name'),
      }),
    )
    .describe('events sources of segments.yml (over profiles only)'),
  segments: z.array(z.string()).describe('other segments over the same subject (in_segment)'),
  operators: z.record(kindSchema, z.array(z.string())).describe('the operators each kind takes'),
});

const sizeSchema = z.object({
  segment: z.string(),
  size: z.number(),
  steps: z.array(z.object({ label: z.string(), count: z.number() })),
});

/**
 * Plans an unsaved definition against the current plan's catalog, as if it were
 * `segments/__draft.yml`. A rule error is a 400 whose issues carry the rule's path and the
 * message the CLI prints for the same rule (`rules.all.0.trait: unknown trait … — hint`).
 */
function planDraft(current: SegmentsPlan, spec: SegmentFile): SegmentsPlan {
  const issues = definitionIssues(spec, current);
  if (issues.length) throw new ValidationError(issues);
  // Only the draft is planned (the others are already): no priority list can name it.
  const setup = { ...current, config: { ...current.config, priority_lists: {} }, files: [{ ...apiSegmentSource(DRAFT_NAME, JSON.stringify(spec)), file: `${DRAFT_NAME} (draft)` }] };
  const drafted = planSegments(setup, current.catalog);
  const draft = drafted.byName.get(DRAFT_NAME)!;
  const byName = new Map(current.byName);
  byName.set(DRAFT_NAME, draft);
  return { ...current, segments: [...current.segments.filter((s) => s.name !== DRAFT_NAME), draft], byName };
}

/** In a file, raw SQL is reviewed code; in a request it would let a token query any table. */
function requireAdminForSql(body: unknown, actor: Actor | undefined, what: string): void {
  if (containsSql(body) && actor?.scope !== 'admin') {
    throw new AuthError(403, `${what} with raw SQL (sql: or a sql condition) needs the admin scope`, 'build it from rules, or use an admin token');
  }
}

const conflict = (where: string, message: string, hint: string) => new CdpError(message, { code: 'CONFLICT', kind: 'config', where, hint });
const notFound = (name: string, plan: SegmentsPlan) =>
  new CdpError('no such segment', { code: 'NOT_FOUND', kind: 'config', where: `segment ${name}`, hint: `segments are ${[...plan.byName.keys()].filter((n) => n !== DRAFT_NAME).sort().join(', ') || 'none'}` });
const fileConflict = (segment: PlannedSegment, doing: string) =>
  conflict(segment.file, `segment ${segment.name} is defined by a file; the API does not ${doing} it`, `edit ${segment.file} (files are code: reviewed and versioned)`);

/** How long a plan (definitions + the warehouse's column catalog) is reused while its definitions are unchanged. */
const PLAN_TTL_MS = 5_000;

export function segmentRoutes(ctx: ServerContext): RouteDef[] {
  const runtime = ctx.runtime;
  // Planning reads every definition and introspects the warehouse: too slow to repeat on
  // each live-size call. Reuse it while the files and the API rows are byte-identical and
  // it is fresh (a rebuilt profiles table can add columns, hence the short TTL). The API rows
  // are read each time (one small indexed select) because another server may have written.
  let cached: { signature: string; at: number; plan: Promise<SegmentsPlan>; records: Map<string, SegmentRecord> } | undefined;
  const load = async (): Promise<{ plan: SegmentsPlan; records: Map<string, SegmentRecord> }> => {
    const dir = runtime.project.dir;
    const config = join(dir, SEGMENTS_CONFIG_FILE);
    const files = listSegmentFiles(dir);
    const records = await apiSegmentRecords(runtime.control, runtime.name);
    const texts = [...files.map((f) => `${f.file}\n${f.text}`), ...records.map((r) => `api:${r.name}\n${r.definition}`)];
    if (existsSync(config)) texts.push(readFileSync(config, 'utf8'));
    const signature = createHash('sha256').update(texts.join('\0')).digest('hex');
    if (!cached || cached.signature !== signature || Date.now() - cached.at > PLAN_TTL_MS) {
      const sources = mergeSegmentSources(files, records.map((r) => apiSegmentSource(r.name, r.definition)));
      const planned = loadSegmentsPlan(runtime.project, runtime.warehouse, runtime.env, { files: sources });
      // A failed plan (a broken definition) is not kept: the next call reports the current state.
      planned.catch(() => (cached = undefined));
      cached = { signature, at: Date.now(), plan: planned, records: new Map(records.map((r) => [r.name, r])) };
    }
    const current = cached;
    return { plan: await current.plan, records: current.records };
  };
  const plan = async (): Promise<SegmentsPlan> => (await load()).plan;

  const materializedMembers = async (p: SegmentsPlan, name: string): Promise<number | null> => {
    const ref = p.tables.members(name);
    const d = runtime.warehouse.dialect;
    if ((await runtime.warehouse.query(d.relationKindSql(ref))).length === 0) return null;
    const [row] = await runtime.warehouse.query(`SELECT COUNT(*) AS n FROM ${d.qualify(ref)}`);
    return Number(row?.n ?? 0);
  };
  const view = (p: SegmentsPlan, segment: PlannedSegment, record: SegmentRecord | undefined, materialized: number | null): SegmentView => {
    const source = p.files.find((f) => f.name === segment.name)!;
    const api = source.origin === 'api';
    return {
      name: segment.name,
      origin: api ? 'api' : 'file',
      file: api ? null : segment.file,
      over: segment.over,
      kind: segment.sql === undefined ? 'rules' : 'sql',
      description: segment.description?.trim(),
      splits: segment.splits.map((x) => `${x.group} ${x.percent}%`).join(' / '),
      exclude_holdout: segment.excludeHoldout,
      materialized_members: materialized,
      // As written, not as resolved: a file's ${NAME} stays a name (no environment value leaves the server).
      definition: jsonValue(parseYamlText(source.text) ?? {}) as Record<string, unknown>,
      sql: membersSql(p, segment),
      created_by: record?.created_by ?? null,
      updated_at: record?.updated_at.toISOString() ?? null,
    };
  };
  const viewOf = async (p: SegmentsPlan, name: string, record: SegmentRecord | undefined): Promise<SegmentView> => {
    const segment = p.byName.get(name);
    if (!segment) throw notFound(name, p);
    return view(p, segment, record, await materializedMembers(p, name));
  };
  /** Checks a definition as the loader would, with `name` in the set; returns the new plan. */
  const checked = (current: SegmentsPlan, name: string, spec: SegmentFile): { plan: SegmentsPlan; definition: string } => {
    const issues = definitionIssues(spec, current);
    if (issues.length) throw new ValidationError(issues);
    const definition = JSON.stringify(spec);
    return { plan: replanWith(current, name, apiSegmentSource(name, definition)), definition };
  };
  const actorName = (actor: Actor | undefined) => (actor ? `${actor.name} (${actor.tokenId.slice(0, 8)})` : 'anonymous');
  const originOf = (p: SegmentsPlan, name: string) => p.files.find((f) => f.name === name)?.origin;

  return [
    defineRoute({
      method: 'GET',
      path: '/segments',
      scope: 'read',
      tag: 'segments',
      summary: 'Segments (files and API) with their definition, members SQL, members at the last materialisation and the size over the last runs',
      description: `\`trend\`: members right after each of the last ${TREND_POINTS} runs that changed the membership, oldest first, read from segment_membership_history in one query for all segments (a run that changed nobody adds no point).`,
      response: z.object({ segments: z.array(listedSegmentSchema) }),
      handler: async () => {
        const { plan: p, records } = await load();
        const [listing, trends] = await Promise.all([listSegments(runtime.warehouse, p), segmentTrends(runtime.warehouse, p, TREND_POINTS)]);
        return {
          segments: listing.map((s) => ({
            ...view(p, p.byName.get(s.name)!, records.get(s.name), s.materialized ?? null),
            trend: (trends.get(s.name) ?? []).map((point) => ({ at: point.at.toISOString(), members: point.members })),
          })),
        };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/segments/catalog',
      scope: 'read',
      tag: 'segments',
      summary: "What a rule may name: the subject's traits with their kinds, account traits, events sources with their properties and the event names seen, other segments, and the operators of each kind",
      description: 'The catalog rules are checked against (the same introspection `cdp segments` uses), for the rule builder\'s pickers.',
      query: z.object({ over: z.enum(['profiles', 'accounts']).default('profiles') }),
      response: catalogSchema,
      handler: async ({ query }) => {
        const p = await plan();
        if (query.over === 'accounts' && !p.catalog.accounts) {
          throw new CdpError('the project has no accounts', { code: 'NOT_FOUND', kind: 'config', where: 'identity.yml', hint: 'declare accounts: in identity.yml and run `cdp identity run`; segments over profiles need over=profiles' });
        }
        return ruleCatalog(p, query.over);
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/segments/{name}',
      scope: 'read',
      tag: 'segments',
      summary: 'One segment with its definition, members SQL and members at the last materialisation',
      params: nameParams,
      response: segmentViewSchema,
      handler: async ({ params }) => {
        const { plan: p, records } = await load();
        return viewOf(p, params.name, records.get(params.name));
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/segments',
      scope: 'write',
      tag: 'segments',
      summary: 'Create a segment (the shape of segments/*.yml plus its name); stored in the control DB',
      description:
        "Checked exactly like a segments/*.yml file: a rule error is 400 with the rule's path and the CLI's message; a name already used by a file or the API is 409. Raw SQL (sql: or a sql condition) needs the admin scope. The segment is materialised by the next segments build (`POST /segments/run`, a schedule, or `cdp run`).",
      body: createBodySchema,
      status: 201,
      response: segmentViewSchema,
      conflict: 'the name is taken (by a file or another API segment)',
      handler: async ({ body, actor }) => {
        const { name, ...spec } = body;
        requireAdminForSql(spec, actor, 'a segment');
        const { plan: current, records } = await load();
        const existing = current.byName.get(name);
        if (existing && originOf(current, name) === 'file') throw fileConflict(existing, 'replace');
        if (existing || records.has(name)) throw conflict(`segment ${name}`, `segment ${name} already exists`, `update it with PUT /segments/${name}, or choose another name`);
        const { plan: next, definition } = checked(current, name, spec);
        try {
          await insertApiSegment(runtime.control, { project: runtime.name, name, definition, createdBy: actorName(actor) });
        } catch (error) {
          // Two creates raced: the primary key let one in.
          if ((await apiSegmentRecords(runtime.control, runtime.name)).some((r) => r.name === name)) throw conflict(`segment ${name}`, `segment ${name} already exists`, `update it with PUT /segments/${name}, or choose another name`);
          throw error;
        }
        cached = undefined;
        await ctx.audit(actor, 'create', 'segment', name, undefined, spec);
        const record = (await apiSegmentRecords(runtime.control, runtime.name)).find((r) => r.name === name);
        return viewOf(next, name, record);
      },
    }),
    defineRoute({
      method: 'PUT',
      path: '/segments/{name}',
      scope: 'write',
      tag: 'segments',
      summary: 'Replace the definition of a segment created through the API',
      description: 'The body is a segments/*.yml body. A segment defined by a file is 409: edit the file. Checked like POST /segments.',
      params: nameParams,
      body: segmentFileSchema,
      response: segmentViewSchema,
      conflict: 'the segment is defined by a file (edit the file)',
      handler: async ({ params, body, actor }) => {
        const { plan: current, records } = await load();
        const existing = current.byName.get(params.name);
        if (existing && originOf(current, params.name) === 'file') throw fileConflict(existing, 'change');
        const record = records.get(params.name);
        if (!record) throw notFound(params.name, current);
        requireAdminForSql(body, actor, 'a segment');
        const { plan: next, definition } = checked(current, params.name, body);
        if (!(await updateApiSegment(runtime.control, runtime.name, params.name, definition))) throw notFound(params.name, current);
        cached = undefined;
        await ctx.audit(actor, 'update', 'segment', params.name, JSON.parse(record.definition) as unknown, body);
        const updated = (await apiSegmentRecords(runtime.control, runtime.name)).find((r) => r.name === params.name);
        return viewOf(next, params.name, updated);
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/segments/{name}',
      scope: 'write',
      tag: 'segments',
      summary: 'Delete a segment created through the API (409 while a segment or a sync uses it)',
      description: 'Its membership history is closed by the next segments build; the membership table stays until then.',
      params: nameParams,
      response: z.object({ deleted: z.boolean() }),
      conflict: 'the segment is defined by a file, or a segment, a priority list or a sync uses it',
      handler: async ({ params, actor }) => {
        const name = params.name;
        const { plan: current, records } = await load();
        const existing = current.byName.get(name);
        if (existing && originOf(current, name) === 'file') throw fileConflict(existing, 'delete');
        const record = records.get(name);
        if (!record) throw notFound(name, current);
        const users = current.segments.filter((s) => s.dependsOn.includes(name)).map((s) => s.name);
        if (users.length) throw conflict(`segment ${name}`, `segment ${name} is used by segment(s) ${users.join(', ')} (in_segment)`, 'remove those references first');
        const lists = Object.entries(current.config.priority_lists).filter(([, names]) => names.includes(name)).map(([list]) => list);
        if (lists.length) throw conflict(`segment ${name}`, `segment ${name} is in priority list(s) ${lists.join(', ')} of ${SEGMENTS_CONFIG_FILE}`, `remove it from ${SEGMENTS_CONFIG_FILE} first`);
        const syncs = await syncsReading(ctx, name);
        if (syncs.length) throw conflict(`segment ${name}`, `segment ${name} is the source of sync(s) ${syncs.join(', ')}`, 'point those syncs at another source, or delete them first');
        await deleteApiSegment(runtime.control, runtime.name, name);
        cached = undefined;
        await ctx.audit(actor, 'delete', 'segment', name, JSON.parse(record.definition) as unknown, undefined);
        return { deleted: true };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/segments/run',
      scope: 'write',
      tag: 'segments',
      summary: 'Build every segment (membership tables and history) as a job; `after: [segments]` schedules follow it',
      status: 202,
      response: jobSchema,
      handler: async ({ actor }) => {
        const id = await ctx.service.enqueue({ kind: 'segments', target: 'all', trigger: 'api' });
        await ctx.audit(actor, 'trigger', 'segments', 'all', undefined, { job: id });
        return jobView((await getJob(runtime.control, id))!);
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
      handler: async ({ params }) => segmentSize(runtime.warehouse, await plan(), params.name),
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
        // Counts over arbitrary SQL would leak data to any read token.
        requireAdminForSql(body, actor, 'a draft');
        const { size, steps } = await segmentSize(runtime.warehouse, planDraft(await plan(), body), DRAFT_NAME);
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
        const rows = await previewSegment(runtime.warehouse, await plan(), params.name, { columns, limit: query.limit, unmask: false });
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
        return segmentOverlap(runtime.warehouse, await plan(), names);
      },
    }),
  ];
}

/**
 * Syncs whose source is the segment: file syncs (as loaded) and every API sync row, read raw
 * so that one which no longer loads (its destination was removed) still counts as a user.
 */
async function syncsReading(ctx: ServerContext, segment: string): Promise<string[]> {
  const users = new Set<string>();
  const catalog = await ctx.runtime.catalog();
  for (const sync of catalog.syncs.values()) if ('segment' in sync.spec.source && sync.spec.source.segment === segment) users.add(sync.name);
  for (const stored of await storedSyncs(ctx.runtime.control, ctx.runtime.name)) {
    if (stored.origin !== 'api') continue;
    const source = (JSON.parse(stored.definition) as { source?: { segment?: unknown } }).source;
    if (source?.segment === segment) users.add(stored.name);
  }
  return [...users].sort();
}

/** True when any object in the draft has a `sql` key (a sql: segment or a raw SQL condition). */
function containsSql(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(containsSql);
  if (value === null || typeof value !== 'object') return false;
  return Object.entries(value).some(([key, inner]) => (key === 'sql' && inner !== undefined) || containsSql(inner));
}
