/**
 * Segments: audiences over profiles or accounts, defined in SQL or as a rule tree, compiled
 * to SQL per dialect, sized and previewed live, materialised with membership history.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ControlDb } from '../control';
import { configError } from '../errors';
import { IDENTITY_FILE, identitySpecSchema } from '../identity';
import { readYamlFile, type Env, type Project } from '../project';
import { defaultSchemaOf, type TableRef, type Warehouse } from '../warehouse';
import { listSegmentFiles, loadSegmentsConfig, loadSegmentsSetup, mergeSegmentSources, planSegments, type PlanOptions, type SegmentSource, type SegmentsPlan, type SetupOptions } from './load-segments';
import { readCatalog } from './read-catalog';
import { apiSegmentSources } from './segment-records';

export { segmentRuleSchema, ruleKinds, operators, dateUnits, type Rule, type Operator, type EventCondition, type TraitCondition } from './rule-schema';
export { segmentFileSchema, segmentFileShape, checkSegmentFile, segmentsConfigSchema, eventsSourceSchema, type SegmentFile, type SegmentsConfig } from './segment-file';
export { checkRuleTree, operatorsByKind, type RuleIssue } from './check-rules';
export { valueKindOf, type Catalog, type ValueKind, type EventsCatalog } from './catalog';
export {
  loadSegmentsSetup,
  planSegments,
  segmentSubjects,
  hasSegments,
  listSegmentFiles,
  mergeSegmentSources,
  shadowingFile,
  sameSegmentName,
  SEGMENTS_DIR,
  SEGMENTS_CONFIG_FILE,
  type SegmentsPlan,
  type SegmentsSetup,
  type PlannedSegment,
  type BrokenSegment,
  type PlanOptions,
  type SegmentSource,
  type SetupOptions,
} from './load-segments';
export { readCatalog } from './read-catalog';
export { membersSql, keysSql, sizeSql } from './segment-sql';
export { describeRule } from './describe-rule';
export { runSegments, type SegmentsRunResult, type SegmentResult, type SegmentsRunOptions } from './materialize-segments';
export { segmentSize, previewSegment, segmentOverlap, listSegments, segmentTrends, ruleCatalog, type SegmentSize, type SegmentOverlap, type SegmentListing, type PreviewOptions, type TrendPoint, type RuleCatalog } from './inspect-segments';
export { maskValue, isPiiColumn } from './pii-mask';
export { segmentTables, type SegmentTables } from './segment-tables';
export {
  apiSegmentRecords,
  apiSegmentRecord,
  apiSegmentSource,
  apiSegmentSources,
  apiSegmentLabel,
  insertApiSegment,
  updateApiSegment,
  deleteApiSegment,
  bindSegmentsControl,
  writeSegments,
  type SegmentRecord,
  type SegmentStore,
} from './segment-records';
export { envMask, envReferences } from './display-sql';
export { definitionIssues, replanWith, planWithSources, checkedChange, referencedSegments, type DefinitionIssue } from './segment-definitions';

/**
 * Every definition — segments/*.yml and the segments written through the API (control DB) —
 * unless `options.files` replaces them. See `apiSegmentSources` for which control DB is read.
 */
export async function loadSegmentSources(project: Project, options: SetupOptions = {}): Promise<SegmentSource[]> {
  return options.files ?? mergeSegmentSources(listSegmentFiles(project.dir), await apiSegmentSources(project, options.control));
}

/**
 * Loads, introspects and validates every segment (files and API ones alike): throws the
 * first broken definition as a one-line config error — or, with `keepGoing`, sets broken
 * definitions and what depends on them aside in `plan.broken` and plans the rest.
 */
export async function loadSegmentsPlan(project: Project, warehouse: Warehouse, env: Env, options: SetupOptions & PlanOptions = {}): Promise<SegmentsPlan> {
  const setup = loadSegmentsSetup(project, warehouse.dialect, env, { ...options, files: await loadSegmentSources(project, options) });
  return planSegments(setup, await readCatalog(warehouse, setup, options), options);
}

/** Whether a project has any segment, from a file or the API (`hasSegments` sees files only, without I/O). */
export async function hasAnySegments(project: Project, control?: ControlDb): Promise<boolean> {
  return listSegmentFiles(project.dir).length > 0 || (await apiSegmentSources(project, control)).length > 0;
}

/**
 * Where a segment's current members are (for the sync engine's `source: { segment: name }`):
 * `seg_<name>` in segments.yml's schema, else identity.yml's, else the warehouse's default.
 * Rows: the subject's columns (profiles.* or accounts.*, or a sql: segment's own) plus
 * `split_group`. Needs no warehouse connection; the table exists after the first `cdp run`.
 *
 * `apiSegments` (names held by the control DB) makes an unknown name an error here. Without
 * it — the caller has no control DB at hand, and this stays synchronous — a name that is not
 * a file is taken as an API segment, and the sync planner reports a missing `seg_<name>`.
 */
export function segmentMembersRef(project: Project, name: string, env: Env = {}, apiSegments?: Iterable<string>): TableRef {
  const files = listSegmentFiles(project.dir);
  if (apiSegments !== undefined && !files.some((f) => f.name === name)) {
    const known = [...files.map((f) => f.name), ...apiSegments];
    if (!known.includes(name)) throw configError(`segments/${name}.yml`, `unknown segment '${name}'`, `known: ${known.join(', ') || 'none — add segments/*.yml or create one through the API'}`);
  }
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw configError(`segment ${name}`, `segment name '${name}' is not an identifier`, 'use letters, digits and _');
  return { schema: segmentsSchemaOf(project, env), name: `seg_${name}` };
}

/** The schema segments build into, without a warehouse connection. */
export function segmentsSchemaOf(project: Project, env: Env = {}): string {
  const config = loadSegmentsConfig(project.dir, env);
  const identityFile = join(project.dir, IDENTITY_FILE);
  const identitySchema = existsSync(identityFile) ? readYamlFile(identityFile, IDENTITY_FILE, identitySpecSchema, env).schema : undefined;
  return config.schema ?? identitySchema ?? defaultSchemaOf(project.config.warehouse);
}

/** `segment_membership_history(segment, profile_id, entered_at, exited_at)`: open rows (exited_at NULL) are current memberships. */
export function membershipHistoryRef(project: Project, env: Env = {}): TableRef {
  return { schema: segmentsSchemaOf(project, env), name: 'segment_membership_history' };
}

/** The segments a member (profile or account id) is in now, from the open history rows; [] before the first run. */
export async function currentSegmentsOf(warehouse: Warehouse, project: Project, memberId: string, env: Env = {}): Promise<string[]> {
  const d = warehouse.dialect;
  const history = membershipHistoryRef(project, env);
  if ((await warehouse.query(d.relationKindSql(history))).length === 0) return [];
  const rows = await warehouse.query(
    `SELECT ${d.quoteIdent('segment')} AS segment FROM ${d.qualify(history)} WHERE ${d.quoteIdent('profile_id')} = ${d.literal(memberId)} AND ${d.quoteIdent('exited_at')} IS NULL ORDER BY 1`,
  );
  return rows.map((r) => String(r.segment));
}
