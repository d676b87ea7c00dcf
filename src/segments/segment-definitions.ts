/**
 * Checking a definition that is not a file (the API's create, update and draft size) with the
 * loader's own checks, so the API and segments/*.yml accept exactly the same definitions:
 *  - `definitionIssues`: the rule walker's catalog errors (and the holdout opt-in) keyed by
 *    field path, each worded as the CLI prints it (`rules.all.1.trait: unknown trait … — fix`);
 *  - `replanWith`: the whole set planned again with the definition in (or out), so what
 *    only shows across segments — cycles, in_segment of the wrong kind, priority lists —
 *    fails exactly as `cdp run` would.
 */
import type { z } from 'zod';
import { formatZodIssue } from '../project';
import { checkRuleTree, type Path } from './check-rules';
import { planSegments, segmentSubjects, type SegmentSource, type SegmentsPlan } from './load-segments';
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

/**
 * Plans every segment again with `name` defined by `source` (replacing any definition of that
 * name), or without it when `source` is undefined. Throws the loader's one-line config error.
 */
export function replanWith(current: SegmentsPlan, name: string, source: SegmentSource | undefined): SegmentsPlan {
  const files = current.files.filter((f) => f.name !== name);
  if (source) files.push(source);
  const setup = { ...current, files };
  // The catalog's segment list says what in_segment may name and over what: it changes too.
  return planSegments(setup, { ...current.catalog, segments: segmentSubjects(setup) });
}
