/**
 * Destinations: the types the engine knows with their config JSON Schema (secrets marked
 * `writeOnly`), destinations from destinations.yml (read-only here) and from the API
 * (create/update/delete), and a connection test. Secret values go in, never out: views say
 * only whether each secret is set, and the audit log records the same view.
 */
import { z } from 'zod';
import { createConnectorContext } from '../../../connectors/kit';
import { destinationRegistry } from '../../../connectors/registry';
import { CdpError, isCdpError, messageOf } from '../../errors';
import { configJsonSchema, destinationInputSchema, secretFields, type DestinationView } from '../../scheduler';
import { loadDestinations } from '../../sync';
import type { ServerContext } from '../context';
import { defineRoute, type RouteDef } from '../route-kit';

const destinationViewSchema = z.object({
  name: z.string(),
  type: z.string(),
  origin: z.enum(['api', 'file']),
  description: z.string().nullable(),
  config: z.record(z.string(), z.unknown()),
  secrets: z.record(z.string(), z.enum(['set', 'unset'])),
  limits: z.record(z.string(), z.unknown()).nullable(),
  updated_at: z.string().nullable(),
});

const nameParams = z.object({ name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be an identifier' }) });

export function destinationRoutes(ctx: ServerContext): RouteDef[] {
  const store = ctx.runtime.destinations;
  const fileViews = (): DestinationView[] =>
    [...loadDestinations(ctx.runtime.project.dir, ctx.runtime.env).values()].map((d) => {
      const secrets = secretFields(d.definition.config);
      const config = Object.fromEntries(Object.entries(d.config as Record<string, unknown>).filter(([k]) => !secrets.includes(k)));
      const values = d.config as Record<string, unknown>;
      return { name: d.name, type: d.type, origin: 'file', description: null, config, secrets: Object.fromEntries(secrets.map((s) => [s, values[s] === undefined ? 'unset' : 'set'])), limits: { ...d.limits }, updated_at: null };
    });
  const find = async (name: string): Promise<DestinationView> => {
    const row = await store.get(name);
    if (row) return store.view(row);
    const file = fileViews().find((d) => d.name === name);
    if (file) return file;
    throw new CdpError('no such destination', { code: 'NOT_FOUND', kind: 'config', where: `destination ${name}` });
  };
  return [
    defineRoute({
      method: 'GET',
      path: '/destination-types',
      scope: 'read',
      tag: 'destinations',
      summary: 'Destination types with their objects, modes and config JSON Schema (secrets are writeOnly)',
      response: z.array(
        z.object({
          type: z.string(),
          title: z.string(),
          category: z.string(),
          secrets: z.array(z.string()),
          config_schema: z.record(z.string(), z.unknown()),
          objects: z.record(z.string(), z.object({ key: z.string(), modes: z.array(z.string()), required_options: z.array(z.string()), description: z.string().nullable() })),
          limits: z.object({ batch_rows: z.number(), concurrency: z.number() }),
        }),
      ),
      handler: async () =>
        Object.values(destinationRegistry).map((d) => ({
          type: d.type,
          title: d.title,
          category: d.category,
          secrets: secretFields(d.config),
          config_schema: configJsonSchema(d.config),
          objects: Object.fromEntries(Object.entries(d.objects).map(([name, o]) => [name, { key: o.key, modes: [...o.modes], required_options: [...(o.requiredOptions ?? [])], description: o.description ?? null }])),
          limits: { batch_rows: d.limits.batchRows, concurrency: d.limits.concurrency },
        })),
    }),
    defineRoute({
      method: 'GET',
      path: '/destinations',
      scope: 'read',
      tag: 'destinations',
      summary: 'Destinations from destinations.yml and the API (no secret values)',
      response: z.array(destinationViewSchema),
      handler: async () => {
        const api = await store.list();
        const names = new Set(api.map((d) => d.name));
        return [...fileViews().filter((d) => !names.has(d.name)), ...api].sort((a, b) => a.name.localeCompare(b.name));
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/destinations/{name}',
      scope: 'read',
      tag: 'destinations',
      summary: 'One destination (no secret values)',
      params: nameParams,
      response: destinationViewSchema,
      handler: async ({ params }) => find(params.name),
    }),
    defineRoute({
      method: 'PUT',
      path: '/destinations/{name}',
      scope: 'write',
      tag: 'destinations',
      summary: 'Create or update a destination; secrets are write-only (omit one to keep it)',
      params: nameParams,
      body: destinationInputSchema.omit({ name: true }),
      response: destinationViewSchema,
      handler: async ({ params, body, actor }) => {
        if (fileViews().some((d) => d.name === params.name)) throw new CdpError('this destination is defined in destinations.yml', { code: 'CONFLICT', kind: 'config', where: `destination ${params.name}`, hint: 'edit the file, or choose another name' });
        const { before, after } = await store.save({ ...body, name: params.name });
        await ctx.audit(actor, before ? 'update' : 'create', 'destination', params.name, before, after);
        return after;
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/destinations/{name}',
      scope: 'write',
      tag: 'destinations',
      summary: 'Delete a destination created through the API',
      params: nameParams,
      response: z.object({ deleted: z.boolean() }),
      handler: async ({ params, actor }) => {
        const before = await store.remove(params.name);
        if (!before) throw new CdpError('no such API destination', { code: 'NOT_FOUND', kind: 'config', where: `destination ${params.name}` });
        await ctx.audit(actor, 'delete', 'destination', params.name, before, undefined);
        return { deleted: true };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/destinations/{name}/test',
      scope: 'write',
      tag: 'destinations',
      summary: "Test the connection with the destination's own check",
      params: nameParams,
      response: z.object({ ok: z.boolean(), message: z.string() }),
      handler: async ({ params }) => {
        const catalog = await ctx.runtime.catalog();
        const destination = catalog.destinations.get(params.name);
        if (!destination) throw new CdpError('no such destination', { code: 'NOT_FOUND', kind: 'config', where: `destination ${params.name}` });
        try {
          const context = createConnectorContext(destination.name, destination.config, { timeoutMs: 10_000, signal: AbortSignal.timeout(15_000), baseDir: ctx.runtime.project.dir });
          await destination.definition.check(context);
          return { ok: true, message: `${destination.type} ${destination.name}: the connection works` };
        } catch (error) {
          // Connector errors are written to be shown (they never include credentials).
          return { ok: false, message: isCdpError(error) ? error.toLine() : messageOf(error) };
        }
      },
    }),
  ];
}
