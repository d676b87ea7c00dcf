/**
 * The Handlebars helpers a model can call. Each is a thin shell over the dialect, so a macro
 * has one default (BaseDialect) and per-warehouse overrides, never an `if (dialect)` here.
 * Helpers check their arguments and throw config errors with the model's file and line.
 */
import type { HelperOptions } from 'handlebars';
import { configError } from '../errors';
import type { ColumnType, DateUnit, Dialect, TableRef } from '../warehouse';

export interface HelperContext {
  dialect: Dialect;
  modelPath: string;
  /** File line of the template's line 1. */
  bodyFirstLine: number;
  resolveRef(name: string): TableRef;
  resolveSource(args: string[], line: number): TableRef;
  vars: Readonly<Record<string, string | number | boolean>>;
}

const dateUnits: readonly DateUnit[] = ['second', 'minute', 'hour', 'day', 'week', 'month', 'year'];
const columnTypes: readonly ColumnType[] = ['string', 'integer', 'float', 'boolean', 'timestamp', 'date', 'json'];

export const helperNames = [
  'ref', 'source', 'var', 'hash', 'normalize', 'date_add', 'date_diff', 'now', 'days_ago', 'cast', 'to_timestamp', 'quote', 'literal',
] as const;

type Helper = (...args: unknown[]) => string;

export function makeHelpers(ctx: HelperContext): Record<(typeof helperNames)[number], Helper> {
  const d = ctx.dialect;
  /** Splits Handlebars' trailing options argument off the user's arguments. */
  const call = (name: string, fn: (args: unknown[], line: number) => string): Helper => (...all) => {
    const options = all[all.length - 1] as HelperOptions & { loc?: { start: { line: number } } };
    const line = (options?.loc?.start.line ?? 1) + ctx.bodyFirstLine - 1;
    return fn(all.slice(0, -1), line);
  };
  const fail = (line: number, message: string, hint: string): never => {
    throw configError(`${ctx.modelPath}:${line}`, message, hint);
  };
  const text = (helper: string, value: unknown, line: number, what: string): string => {
    if (typeof value === 'string' && value.length > 0) return value;
    if (typeof value === 'number') return String(value);
    return fail(line, `${helper}: ${what} must be a quoted text`, `write {{${helper} "…"}}`);
  };
  const count = (helper: string, args: unknown[], min: number, max: number, line: number, usage: string) => {
    if (args.length < min || args.length > max) fail(line, `${helper} takes ${min === max ? min : `${min} to ${max}`} argument(s), got ${args.length}`, `write ${usage}`);
  };
  const unit = (helper: string, value: unknown, line: number): DateUnit =>
    dateUnits.includes(value as DateUnit) ? (value as DateUnit) : fail(line, `${helper}: unknown date unit '${String(value)}'`, `use one of ${dateUnits.join(', ')}`);

  return {
    ref: call('ref', (args) => d.qualify(ctx.resolveRef(String(args[0])))),
    source: call('source', (args, line) => d.qualify(ctx.resolveSource(args.map(String), line))),
    var: call('var', (args, line) => {
      count('var', args, 1, 2, line, '{{var "name"}} or {{var "name" "default"}}');
      const name = text('var', args[0], line, 'the variable name');
      const value = ctx.vars[name] ?? args[1];
      if (value === undefined) return fail(line, `variable '${name}' is not defined`, `add it under vars: in cdp.yml, or give a default: {{var "${name}" "…"}}`);
      return String(value);
    }),
    hash: call('hash', (args, line) => {
      if (args.length === 0) fail(line, 'hash needs at least one column', 'write {{hash "col_a" "col_b"}}');
      return d.hash(args.map((a) => text('hash', a, line, 'each column')));
    }),
    normalize: call('normalize', (args, line) => {
      count('normalize', args, 1, 1, line, '{{normalize "expression"}}');
      return d.normalizeString(text('normalize', args[0], line, 'the expression'));
    }),
    date_add: call('date_add', (args, line) => {
      count('date_add', args, 3, 3, line, '{{date_add "day" 7 "expression"}}');
      const amount = typeof args[1] === 'number' ? args[1] : text('date_add', args[1], line, 'the amount');
      return d.dateAdd(unit('date_add', args[0], line), amount, text('date_add', args[2], line, 'the expression'));
    }),
    date_diff: call('date_diff', (args, line) => {
      count('date_diff', args, 3, 3, line, '{{date_diff "day" "start" "end"}}');
      return d.dateDiff(unit('date_diff', args[0], line), text('date_diff', args[1], line, 'the start'), text('date_diff', args[2], line, 'the end'));
    }),
    now: call('now', (args, line) => {
      count('now', args, 0, 0, line, '{{now}}');
      return d.now();
    }),
    days_ago: call('days_ago', (args, line) => {
      count('days_ago', args, 1, 1, line, '{{days_ago 30}}');
      if (typeof args[0] !== 'number' || !Number.isFinite(args[0])) fail(line, 'days_ago takes a number of days', 'write {{days_ago 30}} without quotes');
      return d.daysAgo(args[0] as number);
    }),
    cast: call('cast', (args, line) => {
      count('cast', args, 2, 2, line, '{{cast "expression" "string"}}');
      const type = args[1] as ColumnType;
      if (!columnTypes.includes(type)) fail(line, `cast: unknown type '${String(args[1])}'`, `use one of ${columnTypes.join(', ')}`);
      return d.cast(text('cast', args[0], line, 'the expression'), type);
    }),
    to_timestamp: call('to_timestamp', (args, line) => {
      count('to_timestamp', args, 1, 1, line, '{{to_timestamp "expression"}}');
      return d.toTimestamp(text('to_timestamp', args[0], line, 'the expression'));
    }),
    quote: call('quote', (args, line) => {
      count('quote', args, 1, 1, line, '{{quote "column name"}}');
      return d.quoteIdent(text('quote', args[0], line, 'the name'));
    }),
    literal: call('literal', (args, line) => {
      count('literal', args, 1, 1, line, '{{literal "text"}}');
      const value = args[0];
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || value === null) return d.literal(value);
      return fail(line, 'literal takes a text, number or boolean', 'write {{literal "text"}}');
    }),
  };
}
