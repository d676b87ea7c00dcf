/**
 * Compiles a project's models for one dialect: parse each file, read its refs statically,
 * build and check the DAG, then render every template with the dialect's helpers.
 * Incremental models are rendered twice — full build and incremental pass — because which
 * one runs is decided at run time by whether the table exists.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Handlebars from 'handlebars';
import { CdpError, configError } from '../errors';
import type { ModelConfig, Project } from '../project';
import { defaultSchemaOf, type Dialect, type TableRef } from '../warehouse';
import { buildGraph, closest, type DagNode, type ModelGraph } from './dag';
import { helperNames, makeHelpers } from './helpers';
import { parseModelFile, type ParsedModel } from './model-file';
import { findTemplateCalls, parseTemplate, templateSyntaxError } from './template-refs';

export interface CompiledModel {
  name: string;
  path: string;
  config: ModelConfig;
  uniqueKey: string[];
  /** Where the model builds. */
  ref: TableRef;
  /** Models this one refs directly. */
  dependsOn: string[];
  /** The full-build SELECT. */
  sql: string;
  /** For incremental models: the SELECT run when the table already exists. */
  incrementalSql?: string;
}

export interface CompiledProject {
  dialect: Dialect;
  /** Enabled models in dependency order. */
  models: CompiledModel[];
  graph: ModelGraph;
  nodes: DagNode[];
}

export interface CompileOptions {
  /** Overrides the warehouse's default schema (tests build into their own schema). */
  schema?: string;
}

export function compileProject(project: Project, dialect: Dialect, options: CompileOptions = {}): CompiledProject {
  const defaultSchema = options.schema ?? defaultSchemaOf(project.config.warehouse);
  const parsed = project.models.map(parseModelFile).filter((m) => m.config.enabled);
  const byName = new Map(parsed.map((m) => [m.name, m]));
  const programs = new Map(parsed.map((m) => [m.name, parseTemplate(m)]));

  const nodes: DagNode[] = parsed.map((m) => ({
    name: m.name,
    path: m.path,
    tags: m.config.tags,
    refs: findTemplateCalls(m, programs.get(m.name)!),
  }));
  const graph = buildGraph(nodes);

  const refOf = (name: string): TableRef => ({ schema: byName.get(name)!.config.schema ?? defaultSchema, name });
  const models = graph.order.map((name) => {
    const model = byName.get(name)!;
    const render = (isIncremental: boolean) => renderModel(model, programs.get(name)!, project, dialect, refOf, isIncremental);
    return {
      name,
      path: model.path,
      config: model.config,
      uniqueKey: model.uniqueKey,
      ref: refOf(name),
      dependsOn: [...graph.upstream.get(name)!].sort(),
      sql: render(false),
      incrementalSql: model.config.materialized === 'incremental' ? render(true) : undefined,
    } satisfies CompiledModel;
  });
  return { dialect, models, graph, nodes };
}

function renderModel(
  model: ParsedModel,
  program: hbs.AST.Program,
  project: Project,
  dialect: Dialect,
  refOf: (name: string) => TableRef,
  isIncremental: boolean,
): string {
  const helpers = makeHelpers({
    dialect,
    modelPath: model.path,
    bodyFirstLine: model.bodyFirstLine,
    vars: project.config.vars,
    resolveRef: refOf,
    resolveSource: (args, line) => resolveSource(project, args, `${model.path}:${line}`),
  });
  // `{{this}}` is Handlebars' own name for the context, so the context prints as the
  // model's table: `{{this}}` reads like dbt's and needs no special helper.
  const self = dialect.qualify(refOf(model.name));
  const context = { is_incremental: isIncremental, toString: () => self };
  const env = Handlebars.create();
  try {
    const template = env.compile(program, { noEscape: true, strict: true, knownHelpers: Object.fromEntries(helperNames.map((h) => [h, true])) });
    return template(context, { helpers }).trim() + '\n';
  } catch (cause) {
    if (cause instanceof CdpError) throw cause;
    throw templateRuntimeError(model, cause);
  }
}

function resolveSource(project: Project, args: string[], where: string): TableRef {
  const groups = project.config.sources;
  const [groupName, tableName] = args.length === 1 && args[0].includes('.') ? args[0].split('.', 2) : args.length === 2 ? args : [undefined, args[0]];
  if (!tableName || args.length > 2) throw configError(where, 'source takes a group and a table', 'write {{source "raw" "orders"}}');
  const candidates = Object.entries(groups).filter(([name]) => groupName === undefined || name === groupName);
  if (groupName !== undefined && candidates.length === 0) {
    const suggestion = closest(groupName, Object.keys(groups));
    throw configError(where, `unknown source group '${groupName}'`, suggestion ? `did you mean '${suggestion}'?` : 'declare it under sources: in cdp.yml');
  }
  const matches = candidates.flatMap(([, group]) =>
    group.tables
      .map((t) => (typeof t === 'string' ? { name: t, table: t } : t))
      .filter((t) => t.name === tableName)
      .map((t) => ({ schema: group.schema, name: t.table })),
  );
  if (matches.length === 1) return matches[0];
  if (matches.length > 1) throw configError(where, `source '${tableName}' is in several groups`, `name the group: {{source "group" "${tableName}"}}`);
  const known = candidates.flatMap(([, g]) => g.tables.map((t) => (typeof t === 'string' ? t : t.name)));
  const suggestion = closest(tableName, known);
  throw configError(where, `unknown source table '${tableName}'`, suggestion ? `did you mean '${suggestion}'?` : 'add it to the tables: of its group in cdp.yml');
}

/** Strict mode says `"x" not defined in [object Object] - 3:2`; turn that into a user's line. */
function templateRuntimeError(model: ParsedModel, cause: unknown): CdpError {
  const text = cause instanceof Error ? cause.message : String(cause);
  const missing = /^"([^"]+)" not defined in .* - (\d+):\d+/.exec(text);
  if (missing) {
    const line = Number(missing[2]) + model.bodyFirstLine - 1;
    return configError(
      `${model.path}:${line}`,
      `unknown helper or variable '${missing[1]}'`,
      `helpers are ${helperNames.join(', ')}; variables are read with {{var "name"}}`,
    );
  }
  if (/Parse error/.test(text)) return templateSyntaxError(model, cause);
  return configError(model.path, `cannot render the template: ${text.split('\n')[0]}`, 'check the template syntax', cause);
}

/** Writes `<outDir>/<model path>` for each model (and `.incremental.sql` beside incremental ones). */
export function writeCompiled(compiled: CompiledProject, outDir: string): string[] {
  const written: string[] = [];
  for (const model of compiled.models) {
    const file = join(outDir, model.path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, model.sql);
    written.push(file);
    if (model.incrementalSql) {
      const incremental = file.replace(/\.sql$/, '.incremental.sql');
      writeFileSync(incremental, model.incrementalSql);
      written.push(incremental);
    }
  }
  return written;
}
