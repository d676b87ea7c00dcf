/**
 * `cdp debug`: the resolved configuration (secrets redacted, from the schema's `secret`
 * marks) and a check of each connection. Exit 1 if a connection fails.
 */
import { z } from 'zod';
import { redactUrl } from '../control';
import { messageOf, isCdpError } from '../errors';
import { warehouseConfigSchema } from '../warehouse';
import type { Output } from './output';
import { connectProjectWarehouse, loadProjectFromCli, openProjectControlDb, type GlobalOptions } from './project-context';

export async function debugCommand(global: GlobalOptions, out: Output): Promise<number> {
  const project = loadProjectFromCli(global);
  const warehouse = redactSecrets(project.config.warehouse);
  const control = { url: redactUrl(project.config.control.url) };
  out.line(`project     ${project.config.name} (${project.dir})`);
  out.line(`models      ${project.models.length}`);
  out.line(`warehouse   ${JSON.stringify(warehouse)}`);
  out.line(`control     ${control.url}`);

  const checks: { name: string; ok: boolean; message: string }[] = [];
  const check = async (name: string, fn: () => Promise<void>) => {
    try {
      await fn();
      checks.push({ name, ok: true, message: 'ok' });
      out.line(`check       ${name}: ok`);
    } catch (error) {
      const message = isCdpError(error) ? error.toLine() : messageOf(error);
      checks.push({ name, ok: false, message });
      out.line(`check       ${name}: FAILED — ${message}`);
    }
  };
  await check('warehouse', async () => (await connectProjectWarehouse(project)).close());
  await check('control', async () => (await openProjectControlDb(project)).close());
  out.result({ project: project.config.name, dir: project.dir, warehouse, control, checks });
  return checks.every((c) => c.ok) ? 0 : 1;
}

/** Replaces every field the schema marks `secret` with '***'. */
export function redactSecrets<T extends { type: string }>(config: T): T {
  const option = warehouseConfigSchema.options.find((o) => o.shape.type.value === config.type);
  const copy: Record<string, unknown> = { ...config };
  for (const [key, field] of Object.entries(option?.shape ?? {})) {
    if (copy[key] !== undefined && isSecret(field as z.ZodType)) copy[key] = '***';
  }
  if (typeof copy.url === 'string') copy.url = redactUrl(copy.url);
  return copy as T;
}

function isSecret(schema: z.ZodType): boolean {
  let current: z.ZodType | undefined = schema;
  while (current) {
    if (current.meta()?.secret === true) return true;
    current = current instanceof z.ZodOptional || current instanceof z.ZodDefault ? (current.unwrap() as z.ZodType) : undefined;
  }
  return false;
}
