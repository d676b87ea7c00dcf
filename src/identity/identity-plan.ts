/**
 * Loads `identity.yml` and resolves it against the project into an `IdentityPlan`: every
 * relation becomes a TableRef, identifiers get their rules and ranks, sources their
 * priority. Unknown models and source tables are reported at their line in identity.yml
 * (the check runs inside the zod pass, so parseYaml can point at the node).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { compileProject } from '../compiler';
import { configError } from '../errors';
import { readYamlFile, type Env, type Project } from '../project';
import { defaultSchemaOf, type Dialect, type TableRef } from '../warehouse';
import { identifierRules, type IdentifierRule } from './identifier-rules';
import { identitySpecSchema, type AccountsSpec, type IdentitySpec, type MembershipsSpec, type RelationSpec, type TraitSpec } from './identity-spec';

export const IDENTITY_FILE = 'identity.yml';

export interface PlannedSource {
  name: string;
  ref: TableRef;
  /** 0 = strongest. */
  priority: number;
  /** The source's identifier columns, strongest identifier first (the row's anchor is the first present). */
  identifiers: { rule: IdentifierRule; column: string }[];
  timestamp?: string;
  traits: { name: string; column: string }[];
}

export interface PlannedComputedTraits {
  ref: TableRef;
  key: 'profile_id' | { rule: IdentifierRule; column: string };
  columns: { column: string; as: string; rule: 'max' | 'min' | 'sum' }[];
}

export interface IdentityPlan {
  spec: IdentitySpec;
  rules: IdentifierRule[];
  sources: PlannedSource[];
  traits: { name: string; spec: TraitSpec }[];
  computed: PlannedComputedTraits[];
  accounts?: AccountsSpec & { ref: TableRef };
  memberships?: MembershipsSpec & { ref: TableRef; rule: IdentifierRule };
  /** Where identity_graph, profiles … build. */
  outputSchema: string;
  /** Where the id registry, stored edges and scratch tables live. */
  stateSchema: string;
}

export function hasIdentityFile(project: Project): boolean {
  return existsSync(join(project.dir, IDENTITY_FILE));
}

export function loadIdentityPlan(project: Project, dialect: Dialect, env: Env, options: { outputSchema?: string; stateSchema?: string } = {}): IdentityPlan {
  const file = join(project.dir, IDENTITY_FILE);
  if (!existsSync(file)) throw configError(IDENTITY_FILE, 'no identity.yml in the project', 'create one: it lists identifier types, sources and limits (see examples/demo/identity.yml)');
  const defaultSchema = defaultSchemaOf(project.config.warehouse);
  const models = new Map(compileProject(project, dialect, { schema: options.outputSchema }).models.map((m) => [m.name, m.ref]));
  const resolve = (r: RelationSpec): TableRef | string => {
    if (r.model !== undefined) return models.get(r.model) ?? `unknown model '${r.model}' — check models/ (known: ${[...models.keys()].slice(0, 8).join(', ') || 'none'})`;
    if (r.source !== undefined) {
      const [group, table] = r.source.split('.');
      const g = project.config.sources[group];
      const t = g?.tables.map((x) => (typeof x === 'string' ? { name: x, table: x } : x)).find((x) => x.name === table);
      return g && t ? { schema: g.schema, name: t.table } : `unknown source '${r.source}' — declare it under sources: in cdp.yml`;
    }
    const parts = r.table!.split('.');
    return parts.length === 2 ? { schema: parts[0], name: parts[1] } : { schema: defaultSchema, name: parts[0] };
  };
  const checked = identitySpecSchema.superRefine((spec, ctx) => {
    const check = (path: (string | number)[], r: RelationSpec) => {
      const ref = resolve(r);
      const key = r.model !== undefined ? 'model' : r.source !== undefined ? 'source' : 'table';
      if (typeof ref === 'string') ctx.addIssue({ code: 'custom', path: [...path, key], message: ref });
    };
    spec.sources.forEach((s, i) => check(['sources', i], s));
    spec.computed_traits.forEach((c, i) => check(['computed_traits', i], c));
    if (spec.accounts) check(['accounts'], spec.accounts);
    if (spec.memberships) check(['memberships'], spec.memberships);
  });
  const spec = readYamlFile(file, IDENTITY_FILE, checked, env);
  const refOf = (r: RelationSpec) => resolve(r) as TableRef;
  const rules = identifierRules(spec, IDENTITY_FILE);
  const ruleOf = (name: string) => rules.find((r) => r.name === name)!;
  return {
    spec,
    rules,
    sources: spec.sources.map((s, index) => ({
      name: s.name,
      ref: refOf(s),
      priority: s.priority ?? index,
      identifiers: Object.entries(s.identifiers)
        .map(([name, column]) => ({ rule: ruleOf(name), column }))
        .sort((a, b) => a.rule.rank - b.rule.rank),
      timestamp: s.timestamp,
      traits: Object.entries(s.traits).map(([name, column]) => ({ name, column })),
    })),
    traits: Object.entries(spec.traits).map(([name, t]) => ({ name, spec: t })),
    computed: spec.computed_traits.map((c) => ({
      ref: refOf(c),
      key: c.key === 'profile_id' ? 'profile_id' : { rule: ruleOf(c.key.identifier), column: c.key.column },
      columns: c.columns.map((col) => (typeof col === 'string' ? { column: col, as: col, rule: 'max' as const } : { column: col.column, as: col.as ?? col.column, rule: col.rule })),
    })),
    accounts: spec.accounts ? { ...spec.accounts, ref: refOf(spec.accounts) } : undefined,
    memberships: spec.memberships ? { ...spec.memberships, ref: refOf(spec.memberships), rule: ruleOf(spec.memberships.identifier) } : undefined,
    outputSchema: options.outputSchema ?? spec.schema ?? defaultSchema,
    stateSchema: options.stateSchema ?? project.config.state_schema,
  };
}

