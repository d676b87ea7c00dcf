/**
 * What a connector's zod config schema says about secrets (fields built with `secret()`):
 * which top-level fields they are, the config without them (safe to store in clear, show and
 * audit), and the JSON Schema a client renders a form from, where secrets are `writeOnly`
 * (sent by clients, never returned). One source of truth: the connector's own schema.
 */
import { z } from 'zod';

/** Top-level field names whose schema (under optional/default/nullable) is marked secret. */
export function secretFields(schema: z.ZodType): string[] {
  const object = unwrap(schema);
  if (!(object instanceof z.ZodObject)) return [];
  return Object.entries(object.shape as Record<string, z.ZodType>)
    .filter(([, field]) => isSecret(field))
    .map(([name]) => name);
}

function isSecret(schema: z.ZodType): boolean {
  let current: z.ZodType | undefined = schema;
  while (current) {
    if (current.meta()?.secret === true) return true;
    const next = unwrapOnce(current);
    current = next === current ? undefined : next;
  }
  return false;
}

function unwrapOnce(schema: z.ZodType): z.ZodType {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable || schema instanceof z.ZodDefault) return schema.unwrap() as z.ZodType;
  return schema;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (let next = unwrapOnce(current); next !== current; next = unwrapOnce(current)) current = next;
  return current;
}

export type JsonObject = { [key: string]: unknown };

/** Splits a config into what may be stored and shown, and the secret values. */
export function splitSecrets(config: JsonObject, secrets: string[]): { plain: JsonObject; secret: JsonObject } {
  const plain: JsonObject = {};
  const secret: JsonObject = {};
  for (const [key, value] of Object.entries(config)) (secrets.includes(key) ? secret : plain)[key] = value;
  return { plain, secret };
}

/** The config's JSON Schema (input side, so defaults are optional) with secrets writeOnly. */
export function configJsonSchema(schema: z.ZodType): JsonObject {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonObject;
  delete json.$schema;
  const properties = json.properties as Record<string, JsonObject> | undefined;
  for (const name of secretFields(schema)) {
    const property = properties?.[name];
    if (!property) continue;
    // `secret` is our metadata, not a JSON Schema keyword: speak the standard one.
    delete property.secret;
    property.writeOnly = true;
    // A password input only fits a string (a webhook's `headers` is a secret object).
    if (property.type === 'string') property.format = property.format ?? 'password';
  }
  return json;
}
