/**
 * Reads a YAML file (or a YAML block inside another file), resolves `${ENV_VAR}` references
 * and validates it with a zod schema. Every failure is a config CdpError naming the file and
 * line: `cdp.yml:7: warehouse.port: expected a number — …`. This is the only place YAML is
 * parsed, so identity, segment and sync files get the same errors for free.
 */
import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { configError } from '../errors';
import { formatZodIssue } from './zod-issues';

export type Env = Readonly<Record<string, string | undefined>>;

export interface YamlSource {
  /** Shown in errors: a path relative to the project. */
  file: string;
  text: string;
  /** Line of `text`'s first line in the file (front matter starts at 2). */
  firstLine?: number;
}

const envReference = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export function readYamlFile<S extends z.ZodType>(path: string, displayName: string, schema: S, env: Env): z.output<S> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw configError(displayName, 'cannot read the file', 'check that it exists and is readable', cause);
  }
  return parseYaml({ file: displayName, text }, schema, env);
}

export function parseYaml<S extends z.ZodType>(source: YamlSource, schema: S, env: Env): z.output<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source.text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineOf = (offset: number | undefined) =>
    offset === undefined ? (source.firstLine ?? 1) : lineCounter.linePos(offset).line + (source.firstLine ?? 1) - 1;
  const where = (offset?: number) => `${source.file}:${lineOf(offset)}`;

  const syntax = doc.errors[0];
  if (syntax) {
    const message = syntax.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    const line = source.text.split('\n')[lineOf(syntax.pos[0]) - (source.firstLine ?? 1)] ?? '';
    // `{ password: ${X} }` is the classic: in a flow map, `${` starts a nested map.
    const hint = line.includes('${') ? 'quote environment references inside { }: "${NAME}"' : 'fix the YAML (indentation, brackets, quotes)';
    throw configError(where(syntax.pos[0]), `YAML syntax error: ${message}`, hint);
  }

  resolveEnvReferences(doc, env, where);
  const value = doc.toJS() ?? {};
  const result = schema.safeParse(value, { reportInput: true });
  if (!result.success) {
    const issue = result.error.issues[0];
    const node =
      issue.code === 'unrecognized_keys'
        ? keyNode(doc, issue.path as PropertyKey[], issue.keys[0])
        : nodeAt(doc, issue.path as PropertyKey[]);
    const { message, hint } = formatZodIssue(issue);
    throw configError(where(node?.range?.[0]), message, hint);
  }
  return result.data;
}

/** Replaces `${NAME}` and `${NAME:-default}` in every string scalar, in place. */
function resolveEnvReferences(doc: Document, env: Env, where: (offset?: number) => string): void {
  const visit = (node: unknown): void => {
    if (isScalar(node) && typeof node.value === 'string' && node.value.includes('${')) {
      node.value = node.value.replace(envReference, (_match, name: string, fallback: string | undefined) => {
        const value = env[name];
        if (value !== undefined && value !== '') return value;
        if (fallback !== undefined) return fallback;
        throw configError(
          where(node.range?.[0]),
          `environment variable ${name} is not set`,
          `export ${name}=… before running, or write \${${name}:-default}`,
        );
      });
    } else if (isMap(node)) {
      for (const pair of node.items) visit(pair.value);
    } else if (isSeq(node)) {
      for (const item of node.items) visit(item);
    }
  };
  visit(doc.contents);
}

/** The key node of an unknown key, so the error points at its own line. */
function keyNode(doc: Document, path: PropertyKey[], key: string): Node | undefined {
  const map = path.length === 0 ? doc.contents : doc.getIn(path.map(String), true);
  if (isMap(map)) {
    const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
    if (pair && isScalar(pair.key)) return pair.key;
  }
  return nodeAt(doc, path);
}

/** The deepest node that exists along `path`, so an error points as close as it can. */
function nodeAt(doc: Document, path: PropertyKey[]): Node | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const keys = path.slice(0, depth).map((k) => (typeof k === 'symbol' ? String(k) : k));
    const node = depth === 0 ? doc.contents : doc.getIn(keys, true);
    if (node && typeof node === 'object' && 'range' in node) {
      // For a missing key the map itself is the closest; for a bad value, its own node.
      return node as Node;
    }
  }
  return undefined;
}
