/**
 * `file`: CSV or JSONL files in a folder, one file per run listing its adds, changes and
 * removes (each line carries the op). For hand-offs to tools that import files, and for
 * seeing exactly what a sync would send. Concurrency 1, so lines keep the engine's order.
 */
import { z } from 'zod';
import { ConnectorError, defineDestination } from '../kit';
import { appendBatch, runFilePath } from './client';

export const fileConfigSchema = z.strictObject({
  /** Folder for the files; relative to the project folder. */
  folder: z.string().min(1),
  format: z.enum(['csv', 'jsonl']).default('jsonl'),
});

export default defineDestination({
  type: 'file',
  title: 'Files (CSV / JSONL)',
  category: 'generic',
  config: fileConfigSchema,
  objects: {
    records: { key: 'key', modes: ['upsert', 'update', 'insert', 'mirror', 'add_remove', 'archive'], description: 'Any record' },
  },
  limits: { batchRows: 10_000, concurrency: 1 },
  async check() {
    // Nothing to connect to; the folder is created on the first write.
  },
  async write(ctx, batch) {
    const run = ctx.run ?? { id: 'manual', sync: 'sync', startedAt: new Date() };
    const path = runFilePath(ctx.config.folder, ctx.baseDir, ctx.config.format, run.sync, batch.object, run.id, run.startedAt);
    try {
      appendBatch(path, ctx.config.format, batch);
    } catch (cause) {
      throw new ConnectorError('file', 'config', `cannot write ${path}: ${(cause as Error).message}`, { cause, hint: 'check that config.folder is writable' });
    }
    return batch.rows.map(() => ({ status: 'ok' as const }));
  },
});
