/**
 * Loads a project's segments in two steps:
 *  1. `loadSegmentsSetup` (no warehouse): segments.yml, identity's outputs and identifier
 *     rules, events sources resolved to relations, the raw segment files;
 *  2. `planSegments(setup, catalog)`: every segment file validated against the catalog
 *     (unknown trait or event, operator for the type, window unit, unknown segment), SQL
 *     segments rendered through the model compiler, then cycles between segments rejected.
 * Every error is one line `segments/x.yml:LINE: rules.all.1.op: … — fix`, and planning
 * finishes before anything is materialised, so a broken definition builds nothing.
 *
 * `keepGoing` (the server and the scheduler's segments job) plans what can be planned: a
 * broken definition — and every segment that refers to it, and every segment of a cycle —
 * is set aside in `plan.broken` with that same line, and the others are planned as usual.
 * One segment written through the API, broken by a dropped column, must not take down the
 * rest (§8.1: one failure does not kill the run). Errors of the setup (segments.yml,
 * identity.yml, a missing profiles table) still fail the whole plan: they concern every segment.
 *
 * Names are table names (`seg_<name>`), and warehouse identifiers ignore case: two
 * definitions whose names differ only in case are refused (`VIP` next to `vip`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { compileProject } from '../compiler';
import type { ControlDb } from '../control';
import { configError, isCdpError, type CdpError } from '../errors';
import { hasIdentityFile, loadIdentityPlan, type IdentifierRule, type IdentityPlan } from '../identity';
import { parseYaml, readYamlFile, type Env, type Project } from '../project';
import type { Dialect, TableRef } from '../warehouse';
import type { Catalog } from './catalog';
import { checkRuleTree, type Path, type SegmentReference } from './check-rules';
import { segmentRuleSchema, type Rule } from './rule-schema';
import { segmentFileSchema, segmentsConfigSchema, type EventsSourceSpec, type SegmentsConfig } from './segment-file';
import { segmentTables, type SegmentTables } from './segment-tables';

export const SEGMENTS_DIR = 'segments';
export const SEGMENTS_CONFIG_FILE = 'segments.yml';

export interface PlannedEvents {
  name: string;
  ref: TableRef;
  identifier: 'profile_id' | { rule: IdentifierRule; column: string };
  /** Column naming the event, or a fixed name for every row. */
  eventColumn?: string;
  fixedName?: string;
  timestamp: string;
}

export interface SegmentSource {
  name: string;
  /** Relative to the project, for errors (`api:segments/<name>` for one held by the control DB). */
  file: string;
  text: string;
  /** `api`: written through the API — `${NAME}` in it never reads the environment (a request body is not a project file). */
  origin?: 'file' | 'api';
}

/** A request body must not read the server's environment; a project file may. */
const envOf = (setup: SegmentsSetup, source: SegmentSource): Env => (source.origin === 'api' ? {} : setup.env);

export interface SegmentsSetup {
  project: Project;
  dialect: Dialect;
  env: Env;
  config: SegmentsConfig;
  identity: IdentityPlan;
  tables: SegmentTables;
  events: Map<string, PlannedEvents>;
  files: SegmentSource[];
  asOf?: Date;
}

export interface PlannedSegment {
  name: string;
  file: string;
  over: 'profiles' | 'accounts';
  description?: string;
  rule?: Rule;
  /** Rendered SQL of a `sql:` segment. */
  sql?: string;
  splits: { group: string; percent: number }[];
  splitSalt: string;
  excludeHoldout: boolean;
  preview?: string[];
  /** Segments this one refers to (in_segment). */
  dependsOn: string[];
}

export interface SegmentsPlan extends SegmentsSetup {
  catalog: Catalog;
  /** Dependencies first. */
  segments: PlannedSegment[];
  byName: Map<string, PlannedSegment>;
  /** Definitions that could not be planned (`keepGoing` only; empty otherwise), by name. */
  broken: Map<string, BrokenSegment>;
}

/** A definition set aside by a `keepGoing` plan, with the error a strict plan would throw. */
export interface BrokenSegment {
  name: string;
  file: string;
  origin: 'file' | 'api';
  error: CdpError;
  /** Set when the definition itself is fine but refers (in_segment) to this broken segment. */
  blockedBy?: string;
}

export interface PlanOptions {
  /** Set broken definitions (and what depends on them) aside in `plan.broken` instead of throwing the first. */
  keepGoing?: boolean;
}

/** Segment names are compared as the warehouse compares table names: ignoring case. */
export const sameSegmentName = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

export function hasSegments(project: Project): boolean {
  return listSegmentFiles(project.dir).length > 0;
}

export function listSegmentFiles(projectDir: string): SegmentSource[] {
  const dir = join(projectDir, SEGMENTS_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((entry) => {
      const name = entry.replace(/\.ya?ml$/, '').replace(/-/g, '_');
      const file = `${SEGMENTS_DIR}/${entry}`;
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw configError(file, `segment name '${name}' is not an identifier`, 'rename the file to letters, digits, - and _');
      return { name, file, text: readFileSync(join(dir, entry), 'utf8'), origin: 'file' as const };
    });
}

export function loadSegmentsConfig(projectDir: string, env: Env): SegmentsConfig {
  const file = join(projectDir, SEGMENTS_CONFIG_FILE);
  return existsSync(file) ? readYamlFile(file, SEGMENTS_CONFIG_FILE, segmentsConfigSchema, env) : segmentsConfigSchema.parse({});
}

export interface SetupOptions {
  /** Tests build into their own schemas. */
  outputSchema?: string;
  stateSchema?: string;
  /** Replaces every definition (segments/ and the control DB's): drafts, tests. */
  files?: SegmentSource[];
  /** Where API segments are read (`loadSegmentsPlan`); default: the control DB bound to the project, else cdp.yml's. */
  control?: ControlDb;
}

/**
 * Every definition: segments/*.yml, then the API's from the control DB. A file wins over an
 * API segment of the same name, compared ignoring case as the warehouse compares the tables
 * (files are reviewed code; the API refuses such names, so this only happens when a file is
 * added later — the API segment is then hidden, not merged; `shadowedApiSources` lists them).
 */
export function mergeSegmentSources(files: SegmentSource[], api: SegmentSource[]): SegmentSource[] {
  return [...files, ...api.filter((a) => !shadowingFile(files, a))];
}

/** The file that hides an API segment (same name, ignoring case), if any. */
export function shadowingFile(files: SegmentSource[], api: SegmentSource): SegmentSource | undefined {
  return files.find((f) => sameSegmentName(f.name, api.name));
}

export function loadSegmentsSetup(project: Project, dialect: Dialect, env: Env, options: SetupOptions = {}): SegmentsSetup {
  const files = options.files ?? listSegmentFiles(project.dir);
  if (!hasIdentityFile(project)) {
    throw configError(files[0]?.file ?? SEGMENTS_DIR, 'segments are built over identity profiles, and the project has no identity.yml', 'add identity.yml (see examples/demo/identity.yml)');
  }
  const config = loadSegmentsConfig(project.dir, env);
  const identity = loadIdentityPlan(project, dialect, env, { outputSchema: options.outputSchema, stateSchema: options.stateSchema });
  const schema = options.outputSchema ?? config.schema ?? identity.outputSchema;
  const models = new Map(compileProject(project, dialect, { schema: options.outputSchema }).models.map((m) => [m.name, m.ref]));
  const events = new Map<string, PlannedEvents>();
  for (const [name, spec] of Object.entries(config.events)) {
    const at = `${SEGMENTS_CONFIG_FILE} (events.${name})`;
    events.set(name, {
      name,
      ref: resolveRelation(project, spec, models, identity.outputSchema, at),
      identifier: spec.identifier === 'profile_id' ? 'profile_id' : { rule: identifierRule(identity, spec.identifier.type, at), column: spec.identifier.column },
      eventColumn: spec.event,
      fixedName: spec.name,
      timestamp: spec.timestamp,
    });
  }
  const asOf = config.as_of === undefined ? undefined : new Date(config.as_of instanceof Date ? config.as_of.getTime() : Date.parse(config.as_of));
  if (asOf && Number.isNaN(asOf.getTime())) throw configError(SEGMENTS_CONFIG_FILE, `as_of '${String(config.as_of)}' is not a date`, "write an ISO date, e.g. as_of: '2026-11-01'");
  return { project, dialect, env, config, identity, tables: segmentTables(identity, schema), events, files, asOf };
}

function identifierRule(identity: IdentityPlan, type: string, at: string): IdentifierRule {
  const rule = identity.rules.find((r) => r.name === type);
  if (!rule) throw configError(at, `identifier type '${type}' is not declared in identity.yml`, `use one of ${identity.rules.map((r) => r.name).join(', ')}, or identifier: profile_id`);
  return rule;
}

function resolveRelation(project: Project, spec: EventsSourceSpec, models: Map<string, TableRef>, defaultSchema: string, at: string): TableRef {
  if (spec.model !== undefined) {
    const ref = models.get(spec.model);
    if (!ref) throw configError(at, `unknown model '${spec.model}'`, `use one of ${[...models.keys()].slice(0, 10).join(', ') || 'the models in models/'}`);
    return ref;
  }
  if (spec.source !== undefined) {
    const [group, table] = spec.source.split('.');
    const g = project.config.sources[group];
    const t = g?.tables.map((x) => (typeof x === 'string' ? { name: x, table: x } : x)).find((x) => x.name === table);
    if (!g || !t) throw configError(at, `unknown source '${spec.source}'`, 'declare it under sources: in cdp.yml');
    return { schema: g.schema, name: t.table };
  }
  const parts = spec.table!.split('.');
  return parts.length === 2 ? { schema: parts[0], name: parts[1] } : { schema: defaultSchema, name: parts[0] };
}

/**
 * Which segments exist and what each is over — the catalog needs it before rules are checked.
 * `keepGoing` leaves out a definition whose shape does not parse (planning sets it aside).
 */
export function segmentSubjects(setup: SegmentsSetup, options: PlanOptions = {}): Map<string, 'profiles' | 'accounts'> {
  const subjects = new Map<string, 'profiles' | 'accounts'>();
  for (const f of setup.files) {
    try {
      subjects.set(f.name, parseYaml(f, segmentFileSchema, envOf(setup, f)).over);
    } catch (error) {
      if (!options.keepGoing || !isConfigError(error)) throw error;
    }
  }
  return subjects;
}

const isConfigError = (error: unknown): error is CdpError => isCdpError(error) && error.kind === 'config';

export function planSegments(setup: SegmentsSetup, catalog: Catalog, options: PlanOptions = {}): SegmentsPlan {
  const references = new Map<string, SegmentReference[]>();
  const planned = new Map<string, PlannedSegment>();
  const broken = new Map<string, BrokenSegment>();
  const setAside = (source: SegmentSource, error: unknown, blockedBy?: string): void => {
    if (!options.keepGoing || !isConfigError(error)) throw error;
    planned.delete(source.name);
    broken.set(source.name, { name: source.name, file: source.file, origin: source.origin ?? 'file', error, ...(blockedBy ? { blockedBy } : {}) });
  };
  const byLowerName = new Map<string, SegmentSource>();
  for (const source of setup.files) {
    const clash = byLowerName.get(source.name.toLowerCase());
    if (clash) {
      setAside(source, configError(source.file, `segment ${source.name} would build the same table as segment ${clash.name} (${clash.file}): warehouse names ignore case`, `rename one of them`));
      continue;
    }
    byLowerName.set(source.name.toLowerCase(), source);
    try {
      planOne(setup, catalog, source, planned, references);
    } catch (error) {
      setAside(source, error);
    }
  }
  const order = orderOrFailOnCycle(setup, references, planned, (name, error) => setAside(sourceOf(setup, name), error));
  // What refers to a broken segment cannot be built either (in_segment inlines its query).
  for (let changed = true; changed; ) {
    changed = false;
    for (const segment of planned.values()) {
      const blocker = segment.dependsOn.find((d) => broken.has(d));
      if (blocker === undefined) continue;
      const cause = broken.get(blocker)!;
      setAside(sourceOf(setup, segment.name), configError(segment.file, `segment ${segment.name} refers to segment ${blocker} (in_segment), which is broken: ${cause.error.message}`, `fix ${blocker}${cause.origin === 'api' ? ` (PUT /segments/${blocker})` : ` (${cause.file})`}, or remove the reference`), cause.blockedBy ?? blocker);
      changed = true;
    }
  }
  for (const [list, names] of Object.entries(setup.config.priority_lists)) {
    names.forEach((n, i) => {
      // keepGoing: a list naming a broken or unknown segment is skipped by the build, which says so.
      if (!planned.has(n) && !options.keepGoing) throw configError(`${SEGMENTS_CONFIG_FILE} (priority_lists.${list}[${i}])`, `unknown segment '${n}'`, `use one of ${[...planned.keys()].join(', ')}`);
    });
  }
  const segments = order.filter((n) => planned.has(n)).map((n) => planned.get(n)!);
  return { ...setup, catalog, segments, byName: planned, broken };
}

const sourceOf = (setup: SegmentsSetup, name: string): SegmentSource => setup.files.find((f) => f.name === name)!;

/** Validates one definition against the catalog and adds it to `planned`; throws its one-line error. */
function planOne(setup: SegmentsSetup, catalog: Catalog, source: SegmentSource, planned: Map<string, PlannedSegment>, references: Map<string, SegmentReference[]>): void {
  const refs: SegmentReference[] = [];
  const checked = segmentFileSchema.superRefine((spec, ctx) => {
    if (spec.rules === undefined) return;
    const result = checkRuleTree(spec.rules, spec.over, catalog, ['rules']);
    refs.push(...result.references);
    for (const issue of result.issues) {
      if (issue.zodIssue) ctx.addIssue({ ...(issue.zodIssue as z.core.$ZodRawIssue), path: issue.path } as z.core.$ZodRawIssue);
      else ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    }
    if (spec.exclude_holdout && !setup.config.holdout) ctx.addIssue({ code: 'custom', path: ['exclude_holdout'], message: 'there is no global holdout — add holdout: { percent: 5 } to segments.yml, or remove exclude_holdout' });
  });
  const spec = parseYaml(source, checked, envOf(setup, source));
  references.set(source.name, refs);
  planned.set(source.name, {
    name: source.name,
    file: source.file,
    over: spec.over,
    description: spec.description,
    rule: spec.rules === undefined ? undefined : segmentRuleSchema.parse(spec.rules),
    sql: spec.sql === undefined ? undefined : renderSqlSegment(setup, source, spec.sql),
    splits: Object.entries(spec.splits ?? {}).map(([group, percent]) => ({ group, percent })),
    splitSalt: spec.split_salt ?? source.name,
    excludeHoldout: spec.exclude_holdout,
    preview: spec.preview,
    dependsOn: [...new Set(refs.map((r) => r.segment))].sort(),
  });
}

/**
 * `sql:` segments go through the model compiler (ref, source, var and the dialect macros);
 * `{{var "profiles"}}`, `{{var "accounts"}}`, `{{var "account_memberships"}}` and
 * `{{var "identity_graph"}}` name identity's outputs.
 */
function renderSqlSegment(setup: SegmentsSetup, source: SegmentSource, sql: string): string {
  const d = setup.dialect;
  const t = setup.tables;
  const vars = {
    ...setup.project.config.vars,
    profiles: d.qualify(t.profiles),
    accounts: d.qualify(t.accounts),
    account_memberships: d.qualify(t.memberships),
    identity_graph: d.qualify(t.graph),
  };
  const modelName = `__segment_${source.name}`;
  const project: Project = { ...setup.project, config: { ...setup.project.config, vars }, models: [...setup.project.models, { name: modelName, path: source.file, text: sql }] };
  const compiled = compileProject(project, d).models.find((m) => m.name === modelName)!;
  return compiled.sql.trim().replace(/;\s*$/, '');
}

/**
 * Dependencies first; a cycle is an error at the first reference that closes it, thrown — or,
 * through `onCycle` (keepGoing), given to every segment of the cycle while the rest is ordered.
 */
function orderOrFailOnCycle(setup: SegmentsSetup, references: Map<string, SegmentReference[]>, planned: Map<string, PlannedSegment>, onCycle: (name: string, error: unknown) => void): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, trail: string[]): void => {
    if (state.get(name) === 'done' || !planned.has(name)) return;
    state.set(name, 'visiting');
    for (const ref of references.get(name) ?? []) {
      if (state.get(ref.segment) === 'visiting') {
        const cycle = [...trail.slice(trail.indexOf(ref.segment)), name];
        let error: unknown;
        try {
          failAt(setup, name, ref.path, `segments refer to each other in a cycle: ${[...cycle, ref.segment].join(' → ')} — remove one of these in_segment references`);
        } catch (thrown) {
          error = thrown;
        }
        for (const member of cycle) onCycle(member, error);
        continue;
      }
      visit(ref.segment, [...trail, name]);
    }
    state.set(name, 'done');
    order.push(name);
  };
  for (const f of setup.files) visit(f.name, []);
  return order;
}

/** Re-parses the file with one issue at `path`, so the error names the line of the rule. */
function failAt(setup: SegmentsSetup, segment: string, path: Path, message: string): never {
  const source = setup.files.find((f) => f.name === segment)!;
  const schema = z.unknown().superRefine((_v, ctx) => ctx.addIssue({ code: 'custom', path, message }));
  parseYaml(source, schema, envOf(setup, source));
  throw configError(source.file, message);
}
