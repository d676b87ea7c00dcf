/**
 * The model graph: edges from `{{ref}}`s, validated (unknown refs and cycles are errors that
 * name files and lines), a deterministic topological order, and node selection with dbt's
 * syntax: `name`, `name+` (and descendants), `+name` (and ancestors), `tag:x`; several
 * selectors are a union.
 */
import { configError } from '../errors';
import type { TemplateCall } from './template-refs';

export interface DagNode {
  name: string;
  path: string;
  tags: string[];
  refs: TemplateCall[];
}

export interface ModelGraph {
  /** Models in an order where every model follows everything it refs. */
  order: string[];
  upstream: Map<string, Set<string>>;
  downstream: Map<string, Set<string>>;
}

export function buildGraph(nodes: DagNode[]): ModelGraph {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const upstream = new Map<string, Set<string>>();
  const downstream = new Map<string, Set<string>>();
  for (const node of nodes) {
    upstream.set(node.name, new Set());
    downstream.set(node.name, new Set());
  }
  for (const node of nodes) {
    for (const ref of node.refs.filter((r) => r.helper === 'ref')) {
      const target = ref.args[0];
      if (ref.args.length !== 1) {
        throw configError(`${node.path}:${ref.line}`, `ref takes one model name, got ${ref.args.length}`, 'write {{ref "model_name"}}');
      }
      if (!byName.has(target)) {
        const suggestion = closest(target, [...byName.keys()]);
        throw configError(
          `${node.path}:${ref.line}`,
          `unknown model '${target}' in ref`,
          suggestion ? `did you mean '${suggestion}'?` : 'create models/<name>.sql or fix the name',
        );
      }
      if (target === node.name) {
        throw configError(`${node.path}:${ref.line}`, `model '${node.name}' refs itself`, 'use {{this}} in an incremental model to read its own table');
      }
      upstream.get(node.name)!.add(target);
      downstream.get(target)!.add(node.name);
    }
  }
  return { order: topologicalOrder(nodes, upstream, byName), upstream, downstream };
}

function topologicalOrder(nodes: DagNode[], upstream: Map<string, Set<string>>, byName: Map<string, DagNode>): string[] {
  const state = new Map<string, 'visiting' | 'done'>();
  const order: string[] = [];
  const stack: string[] = [];
  const visit = (name: string) => {
    const seen = state.get(name);
    if (seen === 'done') return;
    if (seen === 'visiting') throw cycleError(stack.slice(stack.indexOf(name)).concat(name), byName);
    state.set(name, 'visiting');
    stack.push(name);
    for (const dep of [...upstream.get(name)!].sort()) visit(dep);
    stack.pop();
    state.set(name, 'done');
    order.push(name);
  };
  for (const node of [...nodes].sort((a, b) => a.name.localeCompare(b.name))) visit(node.name);
  return order;
}

function cycleError(cycle: string[], byName: Map<string, DagNode>) {
  // Each step names the file and line of the ref that closes the loop.
  const steps = cycle.slice(0, -1).map((name, i) => {
    const node = byName.get(name)!;
    const ref = node.refs.find((r) => r.helper === 'ref' && r.args[0] === cycle[i + 1]);
    return `${name} (${node.path}:${ref?.line ?? 1})`;
  });
  const first = byName.get(cycle[0])!;
  return configError(
    first.path,
    `models form a cycle: ${steps.join(' → ')} → ${cycle[0]}`,
    'remove one of these refs; a model cannot depend on itself through others',
  );
}

/** Resolves selectors to model names in graph order. No selector selects everything. */
export function selectModels(graph: ModelGraph, nodes: DagNode[], selectors: string[]): string[] {
  if (selectors.length === 0) return graph.order;
  const selected = new Set<string>();
  const names = new Set(nodes.map((n) => n.name));
  for (const raw of selectors.flatMap((s) => s.split(/[\s,]+/)).filter(Boolean)) {
    if (raw.startsWith('tag:')) {
      const tag = raw.slice(4);
      const tagged = nodes.filter((n) => n.tags.includes(tag));
      if (tagged.length === 0) throw configError('--select', `no model has tag '${tag}'`, 'check the tags in the models\' front matter');
      tagged.forEach((n) => selected.add(n.name));
      continue;
    }
    const withAncestors = raw.startsWith('+');
    const withDescendants = raw.endsWith('+');
    const name = raw.replace(/^\+/, '').replace(/\+$/, '');
    if (!names.has(name)) {
      const suggestion = closest(name, [...names]);
      throw configError('--select', `no model named '${name}'`, suggestion ? `did you mean '${suggestion}'?` : 'list models with `cdp compile`');
    }
    selected.add(name);
    if (withAncestors) walk(name, graph.upstream, selected);
    if (withDescendants) walk(name, graph.downstream, selected);
  }
  return graph.order.filter((n) => selected.has(n));
}

function walk(start: string, edges: Map<string, Set<string>>, into: Set<string>) {
  for (const next of edges.get(start) ?? []) {
    if (!into.has(next)) {
      into.add(next);
      walk(next, edges, into);
    }
  }
}

/** The candidate within a small edit distance, for "did you mean". */
export function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = editDistance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}
