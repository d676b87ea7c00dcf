/**
 * Text about segments shown outside the server (the API's `sql`, size step labels, errors)
 * without environment values. Project files may write `${NAME}` (cdp.yml, identity.yml,
 * segments.yml, segments/*.yml), and compiled SQL holds the value it resolved to — a salt, a
 * threshold, a schema name — while no environment value may leave the server (DESIGN §7).
 *
 * `envMask` replaces every occurrence of such a value by the `${NAME}` that was written: the
 * simplest honest rendering, since what a reader sees is what the file says. It is textual,
 * so a value that also appears for another reason is shown as its name too (over-masking
 * never leaks; compiling again with placeholders would fail wherever a value must parse).
 * Segments written through the API never read the environment, but their SQL may inline a
 * file segment's (in_segment), so the mask covers every file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IDENTITY_FILE } from '../identity';
import { PROJECT_FILE, type Env } from '../project';
import { SEGMENTS_CONFIG_FILE, type SegmentSource } from './load-segments';

const envReference = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}/g;

/** The names `texts` refer to as `${NAME}`. */
export function envReferences(texts: string[]): Set<string> {
  const names = new Set<string>();
  for (const text of texts) for (const match of text.matchAll(envReference)) names.add(match[1]!);
  return names;
}

/**
 * A function masking the values of the environment variables the project's files (and
 * `files`, the segment definitions) refer to, in one pass with the longest values first (a
 * value inside a longer one does not break the longer one's mask). Each value is also masked
 * as a SQL literal or identifier escapes it (quotes doubled) and as JSON escapes it (labels).
 */
export function envMask(projectDir: string, env: Env, files: SegmentSource[]): (text: string) => string {
  const texts = files.filter((f) => f.origin !== 'api').map((f) => f.text);
  for (const name of [PROJECT_FILE, IDENTITY_FILE, SEGMENTS_CONFIG_FILE]) {
    const path = join(projectDir, name);
    if (existsSync(path)) texts.push(readFileSync(path, 'utf8'));
  }
  const placeholders = new Map<string, string>();
  for (const name of [...envReferences(texts)].sort()) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    for (const form of [value, value.replace(/'/g, "''"), value.replace(/"/g, '""'), JSON.stringify(value).slice(1, -1)]) if (!placeholders.has(form)) placeholders.set(form, `\${${name}}`);
  }
  if (placeholders.size === 0) return (text) => text;
  // One pass, longest first: a placeholder written is never matched again.
  const pattern = new RegExp([...placeholders.keys()].sort((a, b) => b.length - a.length).map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  return (text) => text.replace(pattern, (found) => placeholders.get(found)!);
}
