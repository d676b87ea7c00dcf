/**
 * Turns a zod issue into a user's message and a hint. zod's own wording is written for
 * developers ("Invalid input: expected number, received string"); users get the field path,
 * what was wrong and what to write instead.
 */
import type { z } from 'zod';

export function formatZodIssue(issue: z.core.$ZodIssue): { message: string; hint: string } {
  const field = issue.path.length ? issue.path.map(String).join('.') : 'the file';
  switch (issue.code) {
    case 'unrecognized_keys': {
      const keys = issue.keys.map((k) => `'${k}'`).join(', ');
      const at = issue.path.length ? ` in ${field}` : '';
      return { message: `unknown key ${keys}${at}`, hint: 'remove it or check the spelling' };
    }
    case 'invalid_type': {
      // Parsed with reportInput: an absent `input` means the key itself was missing.
      const received = 'input' in issue && issue.input !== undefined ? describe(issue.input) : 'nothing';
      if (received === 'nothing') return { message: `${field} is required`, hint: `add ${field}` };
      return { message: `${field}: expected ${issue.expected}, got ${received}`, hint: `write ${field} as ${article(issue.expected)}` };
    }
    case 'invalid_value': {
      const allowed = issue.values.map((v) => String(v)).join(', ');
      return { message: `${field}: must be one of ${allowed}`, hint: `use one of: ${allowed}` };
    }
    case 'invalid_union': {
      const options = (issue as { options?: unknown[] }).options;
      if (Array.isArray(options)) {
        const allowed = options.map(String).join(', ');
        return { message: `${field}: must be one of ${allowed}`, hint: `use one of: ${allowed}` };
      }
      return { message: `${field}: ${issue.message}`, hint: 'check the value against the documentation' };
    }
    case 'too_small':
    case 'too_big':
    case 'invalid_format':
    case 'custom':
    default: {
      // Our own schema messages carry their hint after ' — '.
      const [message, hint] = issue.message.split(' — ');
      return { message: `${field}: ${lowerFirst(message)}`, hint: hint ?? 'fix the value' };
    }
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function article(type: string): string {
  if (type === 'object') return 'a map (key: value)';
  if (type === 'array') return 'a list';
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
