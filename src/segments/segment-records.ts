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
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
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

export async function apiSegmentRecords(db: ControlDb, project: string): Promise<SegmentRecord[]> {
  return z.array(segmentRecordSchema).parse(await db.knex('cdp_segments').where({ project }).orderBy('name'));
}

export async function apiSegmentRecord(db: ControlDb, project: string, name: string): Promise<SegmentRecord | undefined> {
  const row = await db.knex('cdp_segments').where({ project, name }).first();
  return row ? segmentRecordSchema.parse(row) : undefined;
}

export async function insertApiSegment(db: ControlDb, record: { project: string; name: string; definition: string; createdBy: string }): Promise<void> {
  const now = new Date();
  await db.knex('cdp_segments').insert({ project: record.project, name: record.name, definition: record.definition, created_at: now, updated_at: now, created_by: record.createdBy });
}

/** False when the row is gone (deleted meanwhile). */
export async function updateApiSegment(db: ControlDb, project: string, name: string, definition: string): Promise<boolean> {
  return (await db.knex('cdp_segments').where({ project, name }).update({ definition, updated_at: new Date() })) > 0;
}

export async function deleteApiSegment(db: ControlDb, project: string, name: string): Promise<boolean> {
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
