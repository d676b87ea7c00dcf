/**
 * The control database: operational records only (runs, and later destinations, syncs,
 * schedules) — never customer data (DESIGN §2). SQLite file by default, PostgreSQL by URL,
 * both through knex. Migrations are code, applied at open, so a new version of cdp upgrades
 * the file in place.
 */
import { mkdirSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import knex, { type Knex } from 'knex';
import { CdpError, messageOf } from '../errors';
import { migrations } from './migrations';

export interface ControlDb {
  readonly knex: Knex;
  readonly url: string;
  close(): Promise<void>;
}

export async function openControlDb(url: string, projectDir: string): Promise<ControlDb> {
  // knex logs pool errors with console.log; ours are wrapped below and shown once.
  const silent = { warn: () => undefined, error: () => undefined, debug: () => undefined, deprecate: () => undefined };
  const db = knex({ ...knexConfig(url, projectDir), log: silent });
  try {
    await db.migrate.latest({ migrationSource: migrationSource, tableName: 'cdp_migrations' });
  } catch (cause) {
    await db.destroy().catch(() => undefined);
    throw new CdpError(`cannot open the control database: ${messageOf(cause)}`, {
      code: 'CONTROL_DB',
      where: `control ${redactUrl(url)}`,
      hint: url.startsWith('sqlite') ? 'check that the folder is writable' : 'check control.url in cdp.yml and that the database is running',
      cause,
    });
  }
  return { knex: db, url, close: () => db.destroy() };
}

function knexConfig(url: string, projectDir: string): Knex.Config {
  if (url.startsWith('sqlite://')) {
    const raw = url.slice('sqlite://'.length);
    const filename = raw === ':memory:' ? raw : isAbsolute(raw) ? raw : join(projectDir, raw);
    if (filename !== ':memory:') mkdirSync(dirname(filename), { recursive: true });
    return { client: 'better-sqlite3', connection: { filename }, useNullAsDefault: true };
  }
  // `?schema=name` keeps the control tables out of `public` (and lets tests isolate).
  const parsed = new URL(url.replace(/^postgresql:/, 'postgres:'));
  const schema = parsed.searchParams.get('schema') ?? undefined;
  parsed.searchParams.delete('schema');
  return {
    client: 'pg',
    connection: { connectionString: parsed.toString(), connectionTimeoutMillis: 5000 },
    searchPath: schema ? [schema] : undefined,
    pool: {
      min: 0,
      max: 4,
      // knex sets search_path but does not create the schema.
      afterCreate: (conn: { query: (sql: string, cb: (err: Error | null) => void) => void }, done: (err: Error | null, conn: unknown) => void) => {
        if (!schema) return done(null, conn);
        conn.query(`CREATE SCHEMA IF NOT EXISTS "${schema.replace(/"/g, '""')}"`, (err) => done(err, conn));
      },
    },
  };
}

const migrationSource: Knex.MigrationSource<(typeof migrations)[number]> = {
  getMigrations: async () => migrations,
  getMigrationName: (m) => m.name,
  getMigration: async (m) => m,
};

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
