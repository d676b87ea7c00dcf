/**
 * Checking a definition that is not a file (the API's create, update and draft size) with the
 * loader's own checks, so the API and segments/*.yml accept exactly the same definitions:
 *  - `definitionIssues`: the rule walker's catalog errors (and the holdout opt-in) keyed by
 *    field path, each worded as the CLI prints it (`rules.all.1.trait: unknown trait … — fix`);
 *  - `checkedChange`: the whole set planned again with the definition in (or out), so what
 *    only shows across segments — cycles, in_segment of the wrong kind — fails exactly as
 *    `cdp run` would. It judges a write by what it changes: the written segment must plan, and
 *    no segment that planned before may stop planning; segments already broken stay as they
 *    are, so one broken segment never blocks fixing (or writing) another;
 *  - `referencedSegments`: the in_segment names a definition's text mentions, read without
 *    planning (deleting a segment must work while others, or the catalog, are broken).
 */
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { configError } from '../errors';
import { formatZodIssue } from '../project';
import { checkRuleTree, type Path } from './check-rules';
import { planSegments, segmentSubjects, type PlanOptions, type SegmentSource, type SegmentsPlan } from './load-segments';
import type { SegmentFile } from './segment-file';

export interface DefinitionIssue {
  /** Dotted field path in the definition: `rules.all.1.trait`. */
  path: string;
  message: string;
}

export function definitionIssues(spec: SegmentFile, plan: SegmentsPlan): DefinitionIssue[] {
  const issues: DefinitionIssue[] = [];
  const add = (path: Path, message: string, zodIssue?: z.core.$ZodIssue) => {
    // The same wording as the file loader's (formatZodIssue), without its `file:line:` prefix.
    const issue = (zodIssue ? { ...zodIssue, path } : { code: 'custom', path, message }) as z.core.$ZodIssue;
    const formatted = formatZodIssue(issue);
    issues.push({ path: path.map(String).join('.'), message: `${formatted.message} — ${formatted.hint}` });
  };
  if (spec.rules !== undefined) {
    for (const issue of checkRuleTree(spec.rules, spec.over, plan.catalog, ['rules']).issues) add(issue.path, issue.message, issue.zodIssue);
  }
  if (spec.exclude_holdout && !plan.config.holdout) {
    issues.push({ path: 'exclude_holdout', message: 'there is no global holdout — add holdout: { percent: 5 } to segments.yml, or remove exclude_holdout' });
  }
  // In a file `${NAME}` reads the environment; a request must not, and silently keeping the
  // text would make a rule that never matches what the author meant.
  for (const path of envReferencePaths(spec, [])) {
    issues.push({ path: path.join('.'), message: '${…} reads the environment only in project files — write the value itself' });
  }
  return issues;
}

function envReferencePaths(value: unknown, path: Path): Path[] {
  if (typeof value === 'string') return value.includes('${') ? [path] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => envReferencePaths(v, [...path, i]));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => envReferencePaths(v, [...path, k]));
  return [];
}

/** Plans `files` with `base`'s setup and introspected catalog (no warehouse, no control DB). */
export function planWithSources(base: SegmentsPlan, files: SegmentSource[], options: PlanOptions = {}): SegmentsPlan {
  const setup = { ...base, files };
  // The catalog's segment list says what in_segment may name and over what: it changes too.
  return planSegments(setup, { ...base.catalog, segments: segmentSubjects(setup, options) }, options);
}

/**
 * Plans every segment again with `name` defined by `source` (replacing any definition of that
 * name), or without it when `source` is undefined. Throws the loader's one-line config error.
 */
export function replanWith(current: SegmentsPlan, name: string, source: SegmentSource | undefined, options: PlanOptions = {}): SegmentsPlan {
  return planWithSources(current, withDefinition(current.files, name, source), options);
}

const withDefinition = (files: SegmentSource[], name: string, source: SegmentSource | undefined): SegmentSource[] => [...files.filter((f) => f.name !== name), ...(source ? [source] : [])];

/**
 * `stored` (every definition now, as read) with `name` set to `source` (or removed): the new
 * plan, or the loader's error when the change breaks `name` itself or any segment that
 * planned before it. Pure: call it with what was read inside the write's transaction.
 */
export function checkedChange(base: SegmentsPlan, stored: SegmentSource[], name: string, source: SegmentSource | undefined): SegmentsPlan {
  const before = planWithSources(base, stored, { keepGoing: true });
  const after = planWithSources(base, withDefinition(stored, name, source), { keepGoing: true });
  const own = source ? after.broken.get(name) : undefined;
  if (own) throw own.error;
  const newly = [...after.broken.values()].filter((b) => !before.broken.has(b.name));
  if (newly.length) {
    throw configError(source?.file ?? `segment ${name}`, `this change would break segment(s) ${newly.map((b) => b.name).join(', ')}: ${newly[0]!.error.toLine()}`, 'change the definition, or change those segments first');
  }
  return after;
}

/** The segments a definition's text names in `in_segment` (raw: no schema, no catalog, no environment). */
export function referencedSegments(source: SegmentSource): string[] {
  const doc = parseDocument(source.text);
  if (doc.errors.length) return []; // it cannot refer to anything: it does not even parse
  const names = new Set<string>();
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        if (key === 'in_segment' && typeof inner === 'string') names.add(inner);
        else walk(inner);
      }
    }
  };
  walk(doc.toJS());
  return [...names].sort();
}
