/**
 * `cdp init [dir]`: scaffolds a project that runs as is on the embedded DuckDB — two models
 * over inline rows, so `cdp run` works before any source is declared.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { configError } from '../errors';
import type { Output } from './output';

const files: Record<string, string> = {
  'cdp.yml': `# warehouse-cdp project. Secrets: write \${ENV_VAR}, never the value.
name: {{name}}
warehouse:
  type: duckdb                 # or postgres, bigquery, snowflake
  path: .cdp/warehouse.duckdb
  schema: analytics
control:
  url: sqlite://.cdp/control.db
state_schema: cdp_state
vars:
  as_of: '2026-01-01'
# sources:
#   raw:
#     schema: raw
#     tables: [events, crm_contacts]
`,
  'models/staging/stg_contacts.sql': `---
materialized: view
tags: [staging]
---
-- Replace the inline rows with your table once it is declared under sources: in cdp.yml
-- and read it with the source helper, e.g. source "raw" "crm_contacts" in double braces.
SELECT contact_id, {{normalize "email"}} AS email, signed_up_at
FROM (
  SELECT 1 AS contact_id, '  Ada@Example.com ' AS email, {{to_timestamp "'2025-03-01T10:00:00Z'"}} AS signed_up_at
  UNION ALL SELECT 2, 'grace@example.com', {{to_timestamp "'2025-06-15T08:30:00Z'"}}
  UNION ALL SELECT 3, '', {{to_timestamp "'2025-07-01T12:00:00Z'"}}
) AS contacts
`,
  'models/marts/contacts.sql': `---
materialized: table
tags: [marts]
---
SELECT
  contact_id,
  email,
  {{hash "email"}} AS email_key,
  {{date_diff "day" "signed_up_at" (to_timestamp (literal (var "as_of")))}} AS days_since_signup
FROM {{ref "stg_contacts"}}
WHERE email IS NOT NULL
`,
  '.gitignore': '.cdp/\ntarget/\n',
};

export async function initCommand(dir: string, out: Output): Promise<number> {
  const target = resolve(dir);
  if (existsSync(join(target, 'cdp.yml'))) {
    throw configError(join(dir, 'cdp.yml'), 'a project already exists here', 'choose another folder: cdp init my-project');
  }
  if (existsSync(target) && readdirSync(target).length > 0) {
    throw configError(dir, 'the folder is not empty', 'choose a new or empty folder');
  }
  const name = basename(target).replace(/[^A-Za-z0-9_]/g, '_').replace(/^(\d)/, '_$1') || 'my_project';
  for (const [path, text] of Object.entries(files)) {
    const file = join(target, path);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, text.replace('{{name}}', name));
  }
  out.line(`Created project '${name}' in ${target}`);
  out.line(`Next: cd ${dir} && cdp run`);
  out.result({ dir: target, name, files: Object.keys(files) });
  return 0;
}
