/**
 * Segments written through the API, in the control DB (`cdp_segments`, migration 005): the
 * definition is the JSON of a `segments/*.yml` body, so the loader reads it exactly like a
 * file (JSON is YAML). Only definitions live here, never members: membership tables and
 * history stay in the warehouse.
 *
 * The control DB a process opened is bound to its Project object (`bindSegmentsControl`), so
 * callers that only hold the project — the scheduler's segments job, `cdp run` — read the
 * same API segments as the server that wrote them, even when the process was started with a
 * control URL other than cdp.yml's. Without a binding the project's own control DB is read.
 *
 * Writes are checked against the whole stored set (cycles only show across definitions), so
 * `writeSegments` serialises them: one transaction that first takes the table's write lock,
 * then re-reads the set, checks, and writes — two concurrent PUTs cannot each be checked
 * against a set without the other and together close a cycle.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { Knex } from 'knex';
import { z } from 'zod';
import { openControlDb, type ControlDb } from '../control';
import type { Project } from '../project';
import type { SegmentSource } from './load-segments';

export const segmentRecordSchema = z.object({
  project: z.string(),
  name: z.string(),
  definition: z.string(),
  created_at: z.coerce.date(),
  updated_at: z.coerce.date(),
  created_by: z.string(),
});
export type SegmentRecord = z.infer<typeof segmentRecordSchema>;

/** Where an API segment's errors point (no file: the path inside the definition is what matters). */
export const apiSegmentLabel = (name: string) => `api:segments/${name}`;

export function apiSegmentSource(name: string, definition: string): SegmentSource {
  return { name, file: apiSegmentLabel(name), text: definition, origin: 'api' };
}

/** The control DB, or a transaction on it (`writeSegments`). */
export type SegmentStore = Pick<ControlDb, 'knex'>;

/**
 * Runs `write` in one transaction holding the write lock of `cdp_segments` from its start:
 * PostgreSQL: `LOCK TABLE … SHARE ROW EXCLUSIVE` (excludes other writers, not readers);
 * SQLite: a first write statement takes the database's write lock (and knex's SQLite pool is
 * one connection). Inside `write`, use only the store it is given: another query on the
 * control DB would wait for the connection the transaction holds.
 */
export async function writeSegments<T>(db: ControlDb, write: (store: SegmentStore) => Promise<T>): Promise<T> {
  return db.knex.transaction(async (trx) => {
    if (String(trx.client.config.client) === 'pg') await trx.raw('LOCK TABLE cdp_segments IN SHARE ROW EXCLUSIVE MODE');
    else await trx('cdp_segments').whereRaw('1 = 0').update({ name: trx.ref('name') });
    return write({ knex: trx });
  });
}

export async function apiSegmentRecords(db: SegmentStore, project: string): Promise<SegmentRecord[]> {
  return z.array(segmentRecordSchema).parse(await db.knex('cdp_segments').where({ project }).orderBy('name'));
}

export async function apiSegmentRecord(db: SegmentStore, project: string, name: string): Promise<SegmentRecord | undefined> {
  const row = await db.knex('cdp_segments').where({ project, name }).first();
  return row ? segmentRecordSchema.parse(row) : undefined;
}

export async function insertApiSegment(db: SegmentStore, record: { project: string; name: string; definition: string; createdBy: string }): Promise<void> {
  const now = new Date();
  await db.knex('cdp_segments').insert({ project: record.project, name: record.name, definition: record.definition, created_at: now, updated_at: now, created_by: record.createdBy });
}

/** False when the row is gone (deleted meanwhile). */
export async function updateApiSegment(db: SegmentStore, project: string, name: string, definition: string): Promise<boolean> {
  return (await db.knex('cdp_segments').where({ project, name }).update({ definition, updated_at: new Date() })) > 0;
}

export async function deleteApiSegment(db: SegmentStore, project: string, name: string): Promise<boolean> {
  return (await db.knex('cdp_segments').where({ project, name }).delete()) > 0;
}

const boundControl = new WeakMap<Project, ControlDb>();

/** Makes `project`'s segment loads read API segments from `control` (the one this process opened). */
export function bindSegmentsControl(project: Project, control: ControlDb): void {
  boundControl.set(project, control);
}

/**
 * The API segments of a project as loader sources: from `control` when given, else the
 * control DB bound to the project, else the project's own control DB (cdp.yml `control.url`),
 * opened and closed here. A SQLite file that does not exist yet holds none: it is not created.
 */
export async function apiSegmentSources(project: Project, control?: ControlDb): Promise<SegmentSource[]> {
  const read = async (db: ControlDb) => (await apiSegmentRecords(db, project.config.name)).map((r) => apiSegmentSource(r.name, r.definition));
  const db = control ?? boundControl.get(project);
  if (db) return read(db);
  const url = project.config.control.url;
  if (url.startsWith('sqlite://')) {
    const raw = url.slice('sqlite://'.length);
    if (raw === ':memory:' || !existsSync(isAbsolute(raw) ? raw : join(project.dir, raw))) return [];
  }
  const opened = await openControlDb(url, project.dir);
  try {
    return await read(opened);
  } finally {
    await opened.close();
  }
}
