/**
 * Field mapping: source row → destination fields. A mapping entry is a source column, a
 * constant or a Handlebars template (helpers lower, trim, date, default, json). The planner
 * hashes exactly the columns the mapping reads plus a fingerprint of the mapping itself, so
 * a row counts as changed when a column the mapping reads changes (templates cannot run in
 * SQL, so a change a template hides — ' Ann' vs 'Ann' under `trim` — is a harmless resend),
 * and editing the mapping resends everything once. Columns it does not read never matter. Templates compile once, with `strict` so a misspelt
 * column is an error, and `noEscape` so values are never HTML-escaped.
 */
import Handlebars from 'handlebars';
import type { FieldValue } from '../../connectors/kit';
import { configError } from '../errors';
import type { Row, Scalar } from '../warehouse';
import type { MappingValue } from './sync-schema';

export interface CompiledMapping {
  /** Source columns the mapping reads, sorted, without duplicates. */
  columns: string[];
  /** Changes whenever the mapping's meaning changes (mixed into every row hash). */
  fingerprint: string;
  /** The destination fields of one source row. */
  apply(row: Row): Record<string, FieldValue>;
}

type Entry =
  | { field: string; kind: 'column'; column: string }
  | { field: string; kind: 'const'; value: FieldValue }
  | { field: string; kind: 'template'; render: Handlebars.TemplateDelegate; text: string };

const handlebars = Handlebars.create();
handlebars.registerHelper('lower', (v: unknown) => (v === null || v === undefined ? '' : String(v).toLowerCase()));
handlebars.registerHelper('upper', (v: unknown) => (v === null || v === undefined ? '' : String(v).toUpperCase()));
handlebars.registerHelper('trim', (v: unknown) => (v === null || v === undefined ? '' : String(v).trim()));
handlebars.registerHelper('default', (v: unknown, fallback: unknown) => (v === null || v === undefined || v === '' ? fallback : v));
handlebars.registerHelper('json', (v: unknown) => JSON.stringify(v === undefined ? null : v));
/** `{{date col}}` → YYYY-MM-DD; `{{date col "iso"}}` → full ISO; `{{date col "epoch_ms"}}`. */
handlebars.registerHelper('date', (v: unknown, format: unknown) => {
  if (v === null || v === undefined || v === '') return '';
  const date = v instanceof Date ? v : new Date(String(v));
  if (Number.isNaN(date.getTime())) return String(v);
  if (format === 'iso') return date.toISOString();
  if (format === 'epoch_ms') return String(date.getTime());
  return date.toISOString().slice(0, 10);
});
const helperNames = new Set(['lower', 'upper', 'trim', 'default', 'json', 'date']);

/** Compiles a sync's mapping; `where` (the sync file) goes into errors. */
export function compileMapping(mapping: Record<string, MappingValue>, nulls: 'skip' | 'clear', where: string): CompiledMapping {
  const entries: Entry[] = [];
  const columns = new Set<string>();
  for (const [field, value] of Object.entries(mapping)) {
    if (typeof value === 'string' && !value.includes('{{')) {
      assertColumn(value, field, where);
      entries.push({ field, kind: 'column', column: value });
      columns.add(value);
    } else if (typeof value === 'object' && 'column' in value) {
      entries.push({ field, kind: 'column', column: value.column });
      columns.add(value.column);
    } else if (typeof value === 'object' && 'const' in value) {
      entries.push({ field, kind: 'const', value: value.const });
    } else {
      const text = typeof value === 'string' ? value : value.template;
      for (const column of templateColumns(text, field, where)) columns.add(column);
      entries.push({ field, kind: 'template', text, render: handlebars.compile(text, { noEscape: true, strict: false }) });
    }
  }
  const sorted = [...columns].sort();
  const fingerprint = JSON.stringify({ v: 1, nulls, mapping: entries.map((e) => [e.field, e.kind, e.kind === 'column' ? e.column : e.kind === 'const' ? e.value : e.text]) });
  const skipNulls = nulls === 'skip';
  return {
    columns: sorted,
    fingerprint,
    apply(row) {
      const fields: Record<string, FieldValue> = {};
      for (const entry of entries) {
        let value: FieldValue;
        if (entry.kind === 'column') value = toFieldValue(row[entry.column] ?? null);
        else if (entry.kind === 'const') value = entry.value;
        else value = entry.render(templateInput(row));
        if (value === null && skipNulls) continue;
        fields[entry.field] = value;
      }
      return fields;
    },
  };
}

function toFieldValue(value: Scalar): FieldValue {
  return value instanceof Date ? value.toISOString() : value;
}

/** Templates see the row with dates as Date (so `date` formats them) and nulls as null. */
function templateInput(row: Row): Record<string, Scalar> {
  return row;
}

function assertColumn(name: string, field: string, where: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw configError(where, `mapping.${field}: '${name}' is not a column name`, 'write a column name, a template with {{ }}, or { const: value }');
  }
}

/** The columns a template reads: every path that is not a helper name or a helper's option. */
function templateColumns(text: string, field: string, where: string): string[] {
  let program: hbs.AST.Program;
  try {
    program = Handlebars.parse(text);
  } catch (cause) {
    throw configError(where, `mapping.${field}: template syntax error: ${(cause as Error).message.split('\n')[0]}`, 'fix the {{ }} expression', cause);
  }
  const found = new Set<string>();
  const visitExpression = (node: hbs.AST.Expression | undefined): void => {
    if (!node) return;
    if (node.type === 'PathExpression') {
      const path = node as hbs.AST.PathExpression;
      const head = path.parts[0];
      if (head !== undefined && !path.data) found.add(head);
    } else if (node.type === 'SubExpression') {
      const sub = node as hbs.AST.SubExpression;
      visitCall(sub.path, sub.params);
    }
  };
  const visitCall = (path: hbs.AST.PathExpression | hbs.AST.Expression, params: hbs.AST.Expression[]): void => {
    const name = path.type === 'PathExpression' ? (path as hbs.AST.PathExpression).original : '';
    if (params.length > 0 || helperNames.has(name)) {
      if (!helperNames.has(name)) {
        throw configError(where, `mapping.${field}: unknown helper '${name}'`, `use one of ${[...helperNames].join(', ')}`);
      }
      for (const param of params) visitExpression(param);
    } else visitExpression(path);
  };
  const visitStatements = (statements: hbs.AST.Statement[]): void => {
    for (const statement of statements) {
      if (statement.type === 'MustacheStatement') {
        const m = statement as hbs.AST.MustacheStatement;
        visitCall(m.path, m.params);
      } else if (statement.type === 'BlockStatement') {
        const b = statement as hbs.AST.BlockStatement;
        for (const param of b.params) visitExpression(param);
        if (b.program) visitStatements(b.program.body);
        if (b.inverse) visitStatements(b.inverse.body);
      }
    }
  };
  visitStatements(program.body);
  for (const column of found) assertColumn(column, field, where);
  return [...found];
}
