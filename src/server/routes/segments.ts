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
 *
 * One broken definition does not take the others down: the set is planned with `keepGoing`,
 * so reads of healthy segments work and a broken one (a trait column dropped, a cycle) is
 * listed with its `error` (and `sql: null`). Reading one segment's stored definition and
 * deleting an API segment need no plan at all, so a broken segment can always be removed.
 * Writes are serialised (`writeSegments`: one transaction holding the table's write lock,
 * the stored set read again inside it), so two concurrent PUTs cannot close a cycle; a write
 * is refused when it breaks the written segment or one that planned before (`checkedChange`).
 * Names are compared ignoring case, as the warehouse compares the tables they build.
 * Environment values never leave: `sql`, step labels and errors show a file's `${NAME}`
 * where the compiled text holds its value (`envMask`).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { CdpError, isCdpError } from '../../errors';
import { getJob, ValidationError } from '../../scheduler';
import {
  apiSegmentRecords,
  apiSegmentSource,
  checkedChange,
  checkSegmentFile,
  definitionIssues,
  deleteApiSegment,
  envMask,
  insertApiSegment,
  listSegmentFiles,
  listSegments,
  loadSegmentsPlan,
  membersSql,
  mergeSegmentSources,
  planSegments,
  previewSegment,
  referencedSegments,
  ruleCatalog,
  sameSegmentName,
  segmentFileSchema,
  segmentFileShape,
  segmentOverlap,
  segmentSize,
  segmentTrends,
  SEGMENTS_CONFIG_FILE,
  shadowingFile,
  updateApiSegment,
  writeSegments,
  type PlannedSegment,
  type SegmentFile,
  type SegmentRecord,
  type SegmentSource,
  type SegmentsPlan,
  type SegmentStore,
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
  sql: z.string().nullable().describe("the members query compiled for this project's warehouse, a file's environment values shown as ${NAME}; null when the segment cannot be planned (see error)"),
  error: z
    .string()
    .nullable()
    .describe('why the segment cannot be planned (its definition, a segment it refers to, a cycle, a file of the same name) — it is not built, and keeps its last build; null when it plans'),
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
function planDraft(current: SegmentsPlan, spec: SegmentFile, mask: (text: string) => string): SegmentsPlan {
  const issues = definitionIssues(spec, current);
  if (issues.length) throw new ValidationError(issues);
  // Only the draft is planned (the others are already): no priority list can name it.
  const setup = { ...current, config: { ...current.config, priority_lists: {} }, files: [{ ...apiSegmentSource(DRAFT_NAME, JSON.stringify(spec)), file: `${DRAFT_NAME} (draft)` }] };
  const drafted = planSegments(setup, current.catalog);
  const draft = drafted.byName.get(DRAFT_NAME)!;
  // in_segment inlines the other segment's query: one that does not plan cannot be sized through.
  const blocker = draft.dependsOn.find((d) => current.broken.has(d));
  if (blocker) throw new ValidationError([{ path: 'rules', message: mask(`segment ${blocker} (in_segment) cannot be planned: ${current.broken.get(blocker)!.error.message} — fix it first, or refer to another segment`) }]);
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
const notFound = (name: string, names: Iterable<string>) =>
  new CdpError('no such segment', { code: 'NOT_FOUND', kind: 'config', where: `segment ${name}`, hint: `segments are ${[...new Set(names)].filter((n) => n !== DRAFT_NAME).sort().join(', ') || 'none'}` });
const fileConflict = (segment: { name: string; file: string }, doing: string) =>
  conflict(segment.file, `segment ${segment.name} is defined by a file; the API does not ${doing} it`, `edit ${segment.file} (files are code: reviewed and versioned)`);
const alreadyExists = (name: string) => conflict(`segment ${name}`, `segment ${name} already exists`, `update it with PUT /segments/${name}, or choose another name`);
/** Two names that differ only in case build one table (`seg_VIP` is `seg_vip` to the warehouse). */
const sameTable = (name: string, other: { name: string; file: string }) =>
  conflict(`segment ${name}`, `segment ${name} would build the same table as segment ${other.name} (${other.file.startsWith('api:') ? 'created through the API' : other.file}): warehouse names ignore case`, 'choose another name');

/** A CdpError with the environment's values masked in every part a client sees. */
const maskedError = (error: CdpError, mask: (text: string) => string) =>
  new CdpError(mask(error.message), { code: error.code, kind: error.kind, where: error.where === undefined ? undefined : mask(error.where), hint: error.hint === undefined ? undefined : mask(error.hint) });

/** The definitions as stored now: segments/*.yml and the API's rows, read through `store` (the control DB or a write's transaction). */
interface Stored {
  files: SegmentSource[];
  records: SegmentRecord[];
  /** Files, then the API's a file does not hide — what the loader plans. */
  sources: SegmentSource[];
}

/** What reads use: the set planned with keepGoing, the rows it came from, and the env mask. */
interface Loaded extends Stored {
  plan: SegmentsPlan;
  mask: (text: string) => string;
}

/** How long a plan (definitions + the warehouse's column catalog) is reused while its definitions are unchanged. */
const PLAN_TTL_MS = 5_000;

export function segmentRoutes(ctx: ServerContext): RouteDef[] {
  const runtime = ctx.runtime;
  const dir = runtime.project.dir;
  const stored = async (store: SegmentStore = runtime.control): Promise<Stored> => {
    const files = listSegmentFiles(dir);
    const records = await apiSegmentRecords(store, runtime.name);
    return { files, records, sources: mergeSegmentSources(files, records.map((r) => apiSegmentSource(r.name, r.definition))) };
  };
  // Planning reads every definition and introspects the warehouse: too slow to repeat on
  // each live-size call. Reuse it while the files and the API rows are byte-identical and
  // it is fresh (a rebuilt profiles table can add columns, hence the short TTL). The API rows
  // are read each time (one small indexed select) because another server may have written.
  let cached: { signature: string; at: number; plan: Promise<SegmentsPlan>; mask: (text: string) => string } | undefined;
  const load = async (): Promise<Loaded> => {
    const now = await stored();
    const config = join(dir, SEGMENTS_CONFIG_FILE);
    const texts = [...now.files.map((f) => `${f.file}\n${f.text}`), ...now.records.map((r) => `api:${r.name}\n${r.definition}`)];
    if (existsSync(config)) texts.push(readFileSync(config, 'utf8'));
    const signature = createHash('sha256').update(texts.join('\0')).digest('hex');
    if (!cached || cached.signature !== signature || Date.now() - cached.at > PLAN_TTL_MS) {
      // keepGoing: a broken definition is set aside in plan.broken; the others plan as usual.
      const planned = loadSegmentsPlan(runtime.project, runtime.warehouse, runtime.env, { files: now.sources, keepGoing: true });
      // A failed plan (segments.yml, identity, no profiles table) is not kept: the next call reports the current state.
      planned.catch(() => (cached = undefined));
      cached = { signature, at: Date.now(), plan: planned, mask: envMask(dir, runtime.env, now.sources) };
    }
    const current = cached;
    return { ...now, plan: await current.plan, mask: current.mask };
  };

  const materializedMembers = async (p: SegmentsPlan, name: string): Promise<number | null> => {
    const ref = p.tables.members(name);
    const d = runtime.warehouse.dialect;
    if ((await runtime.warehouse.query(d.relationKindSql(ref))).length === 0) return null;
    const [row] = await runtime.warehouse.query(`SELECT COUNT(*) AS n FROM ${d.qualify(ref)}`);
    return Number(row?.n ?? 0);
  };
  const recordOf = (l: Stored, name: string) => l.records.find((r) => r.name === name);
  /** The definition as written, not as resolved: a file's ${NAME} stays a name (no environment value leaves the server). */
  const definitionOf = (source: SegmentSource): Record<string, unknown> => {
    const doc = parseDocument(source.text);
    const value: unknown = doc.errors.length ? {} : doc.toJS();
    return value && typeof value === 'object' && !Array.isArray(value) ? (jsonValue(value) as Record<string, unknown>) : {};
  };
  const stamps = (record: SegmentRecord | undefined) => ({ created_by: record?.created_by ?? null, updated_at: record?.updated_at.toISOString() ?? null });
  const view = (l: Loaded, p: SegmentsPlan, segment: PlannedSegment, materialized: number | null): SegmentView => {
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
      definition: definitionOf(source),
      sql: l.mask(membersSql(p, segment)),
      error: null,
      ...stamps(recordOf(l, segment.name)),
    };
  };
  /** A definition that did not plan: what it says as written, and why it did not plan. */
  const unplannedView = (source: SegmentSource, record: SegmentRecord | undefined, error: string, materialized: number | null): SegmentView => {
    const definition = definitionOf(source);
    const splits = definition.splits && typeof definition.splits === 'object' ? Object.entries(definition.splits as Record<string, unknown>) : [];
    return {
      name: source.name,
      origin: source.origin === 'api' ? 'api' : 'file',
      file: source.origin === 'api' ? null : source.file,
      over: definition.over === 'accounts' ? 'accounts' : 'profiles',
      kind: 'sql' in definition ? 'sql' : 'rules',
      description: typeof definition.description === 'string' ? definition.description.trim() : undefined,
      splits: splits.map(([group, percent]) => `${group} ${String(percent)}%`).join(' / '),
      exclude_holdout: definition.exclude_holdout === true,
      materialized_members: materialized,
      definition,
      sql: null,
      error,
      ...stamps(record),
    };
  };
  /** Every segment that did not plan: broken ones (keeping their last build), and API ones a file of the same name hides. */
  const unplannedViews = async (l: Loaded): Promise<SegmentView[]> => {
    const views: SegmentView[] = [];
    for (const broken of l.plan.broken.values()) {
      const source = l.sources.find((s) => s.name === broken.name)!;
      views.push(unplannedView(source, recordOf(l, broken.name), l.mask(broken.error.toLine()), await materializedMembers(l.plan, broken.name)));
    }
    for (const record of l.records) {
      const source = apiSegmentSource(record.name, record.definition);
      const file = shadowingFile(l.files, source);
      if (file) views.push(unplannedView(source, record, `segment ${record.name} is hidden by ${file.file} (segment ${file.name}): warehouse names ignore case, and a file wins — delete this one (DELETE /segments/${record.name})`, null));
    }
    return views;
  };
  const viewOf = async (l: Loaded, name: string): Promise<SegmentView> => {
    const segment = l.plan.byName.get(name);
    if (segment) return view(l, l.plan, segment, await materializedMembers(l.plan, name));
    const found = (await unplannedViews(l)).find((v) => v.name === name);
    if (!found) throw notFound(name, namesOf(l));
    return found;
  };
  const namesOf = (l: Stored) => [...l.files.map((f) => f.name), ...l.records.map((r) => r.name)];
  /** The planned segment `name` for size, preview and overlap; a broken one answers its error. */
  const plannedOf = (l: Loaded, name: string): PlannedSegment => {
    const segment = l.plan.byName.get(name);
    if (segment) return segment;
    const broken = l.plan.broken.get(name);
    if (broken) throw maskedError(broken.error, l.mask);
    throw notFound(name, namesOf(l));
  };
  /** Field-level checks of a written definition (the rule walker's, by path): a 400 before anything is locked. */
  const checkFields = (current: SegmentsPlan, spec: SegmentFile): string => {
    const issues = definitionIssues(spec, current);
    if (issues.length) throw new ValidationError(issues);
    return JSON.stringify(spec);
  };
  /** The whole set planned with the change, from what `store` holds now (inside the write's transaction). */
  const changed = (l: Loaded, now: Stored, name: string, source: SegmentSource | undefined): SegmentsPlan => {
    try {
      return checkedChange(l.plan, now.sources, name, source);
    } catch (error) {
      throw isCdpError(error) ? maskedError(error, l.mask) : error;
    }
  };
  const actorName = (actor: Actor | undefined) => (actor ? `${actor.name} (${actor.tokenId.slice(0, 8)})` : 'anonymous');
  /** Refuses a name a file or another API segment holds, also when only the case differs. */
  const refuseTaken = (now: Stored, name: string): void => {
    const file = now.files.find((f) => sameSegmentName(f.name, name));
    if (file) throw file.name === name ? fileConflict(file, 'replace') : sameTable(name, file);
    const taken = now.records.find((r) => sameSegmentName(r.name, name));
    if (taken) throw taken.name === name ? alreadyExists(name) : sameTable(name, apiSegmentSource(taken.name, taken.definition));
  };
  /** An API segment `name` that can be changed: a file of that name is 409, none at all 404. */
  const existingRecord = (now: Stored, name: string, doing: string): SegmentRecord => {
    const file = now.files.find((f) => f.name === name);
    if (file) throw fileConflict(file, doing);
    const record = recordOf(now, name);
    if (!record) throw notFound(name, namesOf(now));
    return record;
  };
  /** 409 while another definition (file or API, planned or broken) names `name` in in_segment. */
  const refuseInUse = (now: Stored, name: string): void => {
    const users = [...now.files, ...now.records.map((r) => apiSegmentSource(r.name, r.definition))].filter((s) => s.name !== name && referencedSegments(s).includes(name));
    if (!users.length) return;
    const api = users.find((u) => u.origin === 'api');
    throw conflict(`segment ${name}`, `segment ${name} is used by segment(s) ${users.map((u) => u.name).join(', ')} (in_segment)`, api ? `remove those references first (e.g. PUT /segments/${api.name})` : 'remove those references first');
  };
  /** Priority lists of segments.yml naming `name`, read as written (no schema: deleting must not need the rest to be valid). */
  const priorityListsNaming = (name: string): string[] => {
    const path = join(dir, SEGMENTS_CONFIG_FILE);
    if (!existsSync(path)) return [];
    const doc = parseDocument(readFileSync(path, 'utf8'));
    const lists: unknown = doc.errors.length ? undefined : (doc.toJS() as { priority_lists?: unknown } | null)?.priority_lists;
    if (!lists || typeof lists !== 'object') return [];
    return Object.entries(lists as Record<string, unknown>)
      .filter(([, names]) => Array.isArray(names) && names.includes(name))
      .map(([list]) => list);
  };

  return [
    defineRoute({
      method: 'GET',
      path: '/segments',
      scope: 'read',
      tag: 'segments',
      summary: 'Segments (files and API) with their definition, members SQL, members at the last materialisation and the size over the last runs',
      description: `\`trend\`: members right after each of the last ${TREND_POINTS} runs that changed the membership, oldest first, read from segment_membership_history in one query for all segments (a run that changed nobody adds no point). A segment that cannot be planned is listed with its \`error\` and \`sql: null\`; the others are unaffected.`,
      response: z.object({ segments: z.array(listedSegmentSchema) }),
      handler: async () => {
        const l = await load();
        const p = l.plan;
        const [listing, trends, unplanned] = await Promise.all([listSegments(runtime.warehouse, p), segmentTrends(runtime.warehouse, p, TREND_POINTS), unplannedViews(l)]);
        const views = [...listing.map((s) => view(l, p, p.byName.get(s.name)!, s.materialized ?? null)), ...unplanned].sort((a, b) => a.name.localeCompare(b.name));
        return { segments: views.map((v) => ({ ...v, trend: (trends.get(v.name) ?? []).map((point) => ({ at: point.at.toISOString(), members: point.members })) })) };
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
        const p = (await load()).plan;
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
      description: 'A segment that cannot be planned answers its stored definition with its `error` (and `sql: null`) — also when nothing can be planned (no profiles table yet, a broken segments.yml, the warehouse unreachable).',
      params: nameParams,
      response: segmentViewSchema,
      handler: async ({ params }) => {
        let l: Loaded;
        try {
          l = await load();
        } catch (error) {
          // Nothing plans (setup or warehouse): the stored definition is still readable, with why.
          if (!isCdpError(error) || error.kind === 'internal') throw error;
          const now = await stored();
          const source = now.sources.find((s) => s.name === params.name) ?? now.records.filter((r) => r.name === params.name).map((r) => apiSegmentSource(r.name, r.definition))[0];
          if (!source) throw notFound(params.name, namesOf(now));
          return unplannedView(source, recordOf(now, params.name), envMask(dir, runtime.env, now.sources)(error.toLine()), null);
        }
        return viewOf(l, params.name);
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
        const l = await load();
        refuseTaken(l, name);
        const definition = checkFields(l.plan, spec);
        // Checked again against the set as stored when the write lock is held.
        const next = await writeSegments(runtime.control, async (store) => {
          const now = await stored(store);
          refuseTaken(now, name);
          const plan = changed(l, now, name, apiSegmentSource(name, definition));
          await insertApiSegment(store, { project: runtime.name, name, definition, createdBy: actorName(actor) });
          return plan;
        });
        cached = undefined;
        await ctx.audit(actor, 'create', 'segment', name, undefined, spec);
        const after = { ...l, records: await apiSegmentRecords(runtime.control, runtime.name) };
        return view(after, next, next.byName.get(name)!, await materializedMembers(next, name));
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
        const name = params.name;
        const l = await load();
        existingRecord(l, name, 'change');
        requireAdminForSql(body, actor, 'a segment');
        const definition = checkFields(l.plan, body);
        // Checked again against the set as stored when the write lock is held: a concurrent
        // PUT that refers back to this segment is seen, so together they cannot close a cycle.
        const { before, next } = await writeSegments(runtime.control, async (store) => {
          const now = await stored(store);
          const record = existingRecord(now, name, 'change');
          const plan = changed(l, now, name, apiSegmentSource(name, definition));
          await updateApiSegment(store, runtime.name, name, definition);
          return { before: record, next: plan };
        });
        cached = undefined;
        await ctx.audit(actor, 'update', 'segment', name, JSON.parse(before.definition) as unknown, body);
        const after = { ...l, records: await apiSegmentRecords(runtime.control, runtime.name) };
        return view(after, next, next.byName.get(name)!, await materializedMembers(next, name));
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/segments/{name}',
      scope: 'write',
      tag: 'segments',
      summary: 'Delete a segment created through the API (409 while a segment or a sync uses it)',
      description: 'Its membership history is closed by the next segments build; the membership table stays until then. Works from the stored definitions alone (nothing is planned), so a segment that cannot be planned can always be deleted.',
      params: nameParams,
      response: z.object({ deleted: z.boolean() }),
      conflict: 'the segment is defined by a file, or a segment, a priority list or a sync uses it',
      handler: async ({ params, actor }) => {
        const name = params.name;
        // No plan: the definitions as stored are enough, and a broken one must stay removable.
        const first = await stored();
        existingRecord(first, name, 'delete');
        refuseInUse(first, name);
        const lists = priorityListsNaming(name);
        if (lists.length) throw conflict(`segment ${name}`, `segment ${name} is in priority list(s) ${lists.join(', ')} of ${SEGMENTS_CONFIG_FILE}`, `remove it from ${SEGMENTS_CONFIG_FILE} first`);
        const syncs = await syncsReading(ctx, name);
        if (syncs.length) throw conflict(`segment ${name}`, `segment ${name} is the source of sync(s) ${syncs.join(', ')}`, 'point those syncs at another source, or delete them first');
        const record = await writeSegments(runtime.control, async (store) => {
          const now = await stored(store);
          const found = existingRecord(now, name, 'delete');
          refuseInUse(now, name); // again: a reference may have been written meanwhile
          await deleteApiSegment(store, runtime.name, name);
          return found;
        });
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
      handler: async ({ params }) => {
        const l = await load();
        plannedOf(l, params.name);
        const size = await segmentSize(runtime.warehouse, l.plan, params.name);
        return { ...size, steps: size.steps.map((step) => ({ ...step, label: l.mask(step.label) })) };
      },
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
        const l = await load();
        const { size, steps } = await segmentSize(runtime.warehouse, planDraft(l.plan, body, l.mask), DRAFT_NAME);
        return { size, steps: steps.map((step) => ({ ...step, label: l.mask(step.label) })) };
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
        const l = await load();
        plannedOf(l, params.name);
        const rows = await previewSegment(runtime.warehouse, l.plan, params.name, { columns, limit: query.limit, unmask: false });
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
        const l = await load();
        for (const name of names) plannedOf(l, name);
        return segmentOverlap(runtime.warehouse, l.plan, names);
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
