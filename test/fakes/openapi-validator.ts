/**
 * Validates HTTP requests (and a fake's own responses) against vendor OpenAPI documents,
 * so a fake server refuses what the real API would refuse and a connector cannot drift
 * from the published contract while tests stay offline (DESIGN §5).
 *
 * Job: resolve the operation by method + path template, check path and query parameters,
 * and check the JSON body against the operation's requestBody schema. It implements the
 * JSON-schema subset vendor specs use (type incl. 3.1 type arrays and `nullable`,
 * properties, required, additionalProperties, items, enum, const, oneOf/anyOf/allOf,
 * $ref, pattern, min/max length/items/value, integer formats, date-time and uuid).
 *
 * Also reads Swagger 2.0 documents (Iterable): `in: body` parameters, parameters typed
 * inline (no `schema`), and response `schema`; JSON media types other than
 * application/json (Klaviyo's `application/vnd.api+json`, whose Content-Type is then
 * required); and, when the caller passes the request headers, required `in: header`
 * parameters (Klaviyo's `revision`). Callers that pass no headers (HubSpot) are checked as
 * before. `ValidatorOptions.freeFormObjects` names body locations a spec documents as a
 * free-form map but types with one example property (SendGrid's `custom_fields`).
 *
 * Invariants: loading never silently degrades — a missing or unreadable spec throws, so
 * a test can never pass with validation switched off; request bodies are checked strictly
 * (a property the schema does not name is an error: HubSpot's JSON binding refuses
 * unrecognised fields, and strictness is what catches a connector's typo), while
 * responses are checked leniently (extra fields allowed), as a client must accept them.
 */
import fs from 'node:fs';
import path from 'node:path';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type SchemaObject = { [key: string]: Json };

interface LoadedDocument {
  file: string;
  doc: SchemaObject;
}

/** One request as a spec-validating fake logs it (HubSpot, SendGrid, Klaviyo, Iterable). */
export interface LoggedRequest {
  seq: number;
  method: string;
  path: string;
  /** The raw query string, where the fake records it. */
  query?: string;
  /** The operation's path template when the spec documents it. */
  operation?: string;
  body: unknown;
  status: number;
  /** Why the spec refuses this request (empty when it conforms). */
  validationErrors: string[];
  /** Where the fake's own answer departs from the spec (a fake bug when non-empty). */
  responseErrors: string[];
  /** Set when the answer came from an injected fault or the limiter. */
  fault?: 'injected' | 'rate_limit' | 'auth';
}

export interface MatchedOperation {
  /** The spec file the operation came from. */
  file: string;
  /** The path template, e.g. `/crm/v3/objects/{objectType}/batch/upsert`. */
  template: string;
  method: string;
  operationId?: string;
  pathParams: Record<string, string>;
  operation: SchemaObject;
  document: LoadedDocument;
}

export interface RequestToValidate {
  method: string;
  /** Path without the query string, already stripped of the server's base path. */
  pathname: string;
  query: URLSearchParams;
  contentType?: string;
  /** Raw body text ('' when none). */
  rawBody: string;
  /** Lower-cased request headers; when given, required `in: header` parameters are checked. */
  headers?: Record<string, string | string[] | undefined>;
}

export interface ValidatorOptions {
  /**
   * Body locations (validation paths such as `body.contacts[3].custom_fields`) that are
   * free-form maps although the spec lists properties without `additionalProperties`:
   * unknown keys there are allowed (their values are still checked when named).
   */
  freeFormObjects?: RegExp[];
}

export interface RequestValidation {
  match?: MatchedOperation;
  /** The parsed JSON body, when there was one and it parsed. */
  body?: unknown;
  errors: string[];
}

interface Route {
  template: string;
  regex: RegExp;
  paramNames: string[];
  literalSegments: number;
  document: LoadedDocument;
  operations: Record<string, SchemaObject>;
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
/** Enough to explain a mismatch; a runaway loop over 10,000 bad items helps nobody. */
const MAX_ERRORS = 20;

export class OpenApiValidator {
  private readonly routes: Route[] = [];
  private readonly options: ValidatorOptions;

  private constructor(documents: LoadedDocument[], options: ValidatorOptions = {}) {
    this.options = options;
    for (const document of documents) {
      const paths = asObject(document.doc.paths);
      for (const [template, item] of Object.entries(paths)) {
        const operations: Record<string, SchemaObject> = {};
        for (const [method, op] of Object.entries(asObject(item))) {
          if (HTTP_METHODS.includes(method)) operations[method.toUpperCase()] = asObject(op);
        }
        const paramNames: string[] = [];
        const segments = template.split('/').filter((s) => s !== '');
        const pattern = segments
          .map((segment) => {
            const param = /^\{(.+)\}$/.exec(segment);
            if (param) {
              paramNames.push(param[1]!);
              return '([^/]+)';
            }
            return escapeRegex(segment);
          })
          .join('/');
        this.routes.push({
          template,
          regex: new RegExp(`^/${pattern}/?$`),
          paramNames,
          literalSegments: segments.filter((s) => !s.startsWith('{')).length,
          document,
          operations,
        });
      }
    }
    // A literal segment beats a parameter (`/lists/folders` before `/lists/{listId}`).
    this.routes.sort((a, b) => b.literalSegments - a.literalSegments);
  }

  /** Loads every `*.json` OpenAPI document of a folder; throws when the folder is missing or empty. */
  static fromDirectory(dir: string, options: ValidatorOptions = {}): OpenApiValidator {
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
      throw new Error(`OpenAPI specs not found at ${dir}: the fake validates every request against them and will not run without them (CI keeps ../shared beside the clone)`);
    }
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
    if (files.length === 0) throw new Error(`no OpenAPI *.json files in ${dir}`);
    return OpenApiValidator.fromFiles(files.map((f) => path.join(dir, f)), options);
  }

  static fromFiles(files: string[], options: ValidatorOptions = {}): OpenApiValidator {
    const documents = files.map((file) => {
      const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as Json;
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || typeof doc.paths !== 'object') {
        throw new Error(`${file} is not an OpenAPI document (no paths)`);
      }
      return { file, doc };
    });
    return new OpenApiValidator(documents, options);
  }

  /** The operation a request addresses, or undefined when no spec documents it. */
  match(method: string, pathname: string): MatchedOperation | undefined {
    for (const route of this.routes) {
      const m = route.regex.exec(pathname);
      if (!m) continue;
      const operation = route.operations[method.toUpperCase()];
      if (!operation) continue;
      const pathParams: Record<string, string> = {};
      route.paramNames.forEach((name, i) => {
        pathParams[name] = decodeURIComponent(m[i + 1]!);
      });
      return {
        file: route.document.file,
        template: route.template,
        method: method.toUpperCase(),
        operationId: typeof operation.operationId === 'string' ? operation.operationId : undefined,
        pathParams,
        operation,
        document: route.document,
      };
    }
    return undefined;
  }

  validateRequest(request: RequestToValidate): RequestValidation {
    const match = this.match(request.method, request.pathname);
    if (!match) return { errors: [`no operation ${request.method} ${request.pathname} in the OpenAPI specs`] };
    const errors: string[] = [];
    const ctx: ValidationContext = { document: match.document, strict: true, errors, freeFormObjects: this.options.freeFormObjects };
    let swaggerBody: SchemaObject | undefined;

    for (const parameterRef of asArray(match.operation.parameters)) {
      const parameter = resolve(match.document, parameterRef);
      const name = String(parameter.name);
      // Swagger 2.0 types a non-body parameter inline (type/format/enum on the parameter).
      const schema = parameter.schema !== undefined ? asObject(parameter.schema) : parameter.type !== undefined ? inlineParameterSchema(parameter) : {};
      if (parameter.in === 'body') {
        swaggerBody = parameter;
      } else if (parameter.in === 'header') {
        if (request.headers === undefined) continue;
        const raw = request.headers[name.toLowerCase()];
        const value = Array.isArray(raw) ? raw[0] : raw;
        if (value === undefined) {
          if (parameter.required === true) errors.push(`header ${name} is required`);
        } else validateValue(schema, coerceParameter(ctx, schema, value), ctx, `header.${name}`);
      } else if (parameter.in === 'path') {
        const value = match.pathParams[name];
        if (value === undefined) errors.push(`path parameter ${name} is missing`);
        else validateValue(schema, coerceParameter(ctx, schema, value), ctx, `path.${name}`);
      } else if (parameter.in === 'query') {
        const values = request.query.getAll(name);
        if (values.length === 0) {
          if (parameter.required === true) errors.push(`query parameter ${name} is required`);
          continue;
        }
        const type = resolve(match.document, schema).type;
        if (type === 'array') {
          // form/explode: `?a=1&a=2`, and HubSpot also accepts a comma-separated `?a=1,2`.
          const items = values.flatMap((v) => v.split(','));
          validateValue(schema, items.map((v) => coerceParameter(ctx, asObject(resolve(match.document, schema).items ?? {}), v)), ctx, `query.${name}`);
        } else {
          validateValue(schema, coerceParameter(ctx, schema, values[values.length - 1]!), ctx, `query.${name}`);
        }
      }
    }

    let body: unknown;
    const requestBody = match.operation.requestBody === undefined ? undefined : resolve(match.document, match.operation.requestBody);
    if (request.rawBody.trim() !== '') {
      try {
        body = JSON.parse(request.rawBody) as unknown;
      } catch (error) {
        errors.push(`body is not valid JSON: ${(error as Error).message}`);
      }
    }
    if (requestBody) {
      const content = asObject(requestBody.content ?? {});
      // application/json first; else another JSON media type (JSON:API's application/vnd.api+json).
      const vendorJson = Object.keys(content).find((type) => type !== 'application/json' && /[/+]json$/.test(type));
      const jsonMedia = content['application/json'] ?? (vendorJson !== undefined ? content[vendorJson] : undefined) ?? content['*/*'];
      if (body === undefined && request.rawBody.trim() === '') {
        if (requestBody.required === true) errors.push('a JSON request body is required');
      } else if (jsonMedia !== undefined) {
        if (content['application/json'] === undefined && vendorJson !== undefined) {
          // A vendor media type is what the API accepts; plain application/json is refused (Klaviyo answers 415).
          if (request.contentType === undefined || !request.contentType.toLowerCase().startsWith(vendorJson)) errors.push(`content-type must be ${vendorJson}, got ${request.contentType ?? 'none'}`);
        } else if (request.contentType !== undefined && !request.contentType.includes('json')) {
          errors.push(`content-type must be application/json, got ${request.contentType}`);
        }
        if (body !== undefined) validateValue(asObject(asObject(jsonMedia).schema ?? {}), body as Json, ctx, 'body');
      }
    } else if (swaggerBody) {
      if (body === undefined && request.rawBody.trim() === '') {
        if (swaggerBody.required === true) errors.push('a JSON request body is required');
      } else {
        if (request.contentType !== undefined && !request.contentType.includes('json')) errors.push(`content-type must be application/json, got ${request.contentType}`);
        if (body !== undefined) validateValue(asObject(swaggerBody.schema ?? {}), body as Json, ctx, 'body');
      }
    }
    return { match, body, errors: errors.slice(0, MAX_ERRORS) };
  }

  /** Checks a response the fake is about to send (lenient: extra fields allowed). */
  validateResponse(match: MatchedOperation, status: number, body: unknown): string[] {
    const responses = asObject(match.operation.responses ?? {});
    const declared = responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default;
    if (declared === undefined) return [`status ${status} is not documented for ${match.method} ${match.template}`];
    const response = resolve(match.document, declared);
    const content = asObject(response.content ?? {});
    const vendorJson = Object.keys(content).find((type) => /[/+]json$/.test(type));
    // Swagger 2.0 puts the schema on the response itself.
    const media = content['application/json'] ?? (vendorJson !== undefined ? content[vendorJson] : undefined) ?? content['*/*'] ?? (response.schema !== undefined ? { schema: response.schema } : undefined);
    if (media === undefined || asObject(media).schema === undefined) {
      return body === undefined ? [] : [`${match.method} ${match.template} ${status} documents no body, but one was sent`];
    }
    const errors: string[] = [];
    validateValue(asObject(asObject(media).schema), (body ?? null) as Json, { document: match.document, strict: false, errors }, 'response');
    return errors.slice(0, MAX_ERRORS);
  }
}

interface ValidationContext {
  document: LoadedDocument;
  /** Unknown object properties are errors (requests) or allowed (responses). */
  strict: boolean;
  errors: string[];
  /** Locations where unknown properties are allowed although strict (ValidatorOptions.freeFormObjects). */
  freeFormObjects?: RegExp[];
}

/** A Swagger 2.0 non-body parameter carries its schema keywords itself. */
function inlineParameterSchema(parameter: SchemaObject): SchemaObject {
  const schema: SchemaObject = {};
  for (const key of ['type', 'format', 'enum', 'items', 'pattern', 'minimum', 'maximum', 'minLength', 'maxLength']) if (parameter[key] !== undefined) schema[key] = parameter[key]!;
  return schema;
}

/** Query and path values arrive as text; turn them into the schema's type before checking. */
function coerceParameter(ctx: ValidationContext, schemaRef: SchemaObject, value: string): Json {
  const schema = resolve(ctx.document, schemaRef);
  switch (schema.type) {
    case 'integer':
    case 'number':
      return value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
    case 'boolean':
      return value === 'true' ? true : value === 'false' ? false : value;
    default:
      return value;
  }
}

/** Validates `value` against `schemaRef`, appending readable `at: problem` lines to ctx.errors. */
export function validateValue(schemaRef: Json, value: Json, ctx: ValidationContext, at: string): void {
  if (ctx.errors.length >= MAX_ERRORS) return;
  const schema = resolve(ctx.document, schemaRef);

  if (Array.isArray(schema.allOf)) for (const sub of schema.allOf) validateValue(sub, value, ctx, at);
  if (Array.isArray(schema.anyOf) || Array.isArray(schema.oneOf)) {
    // oneOf is checked as "at least one": vendor specs list overlapping alternatives
    // without a discriminator, and exact-one would refuse requests the vendor accepts.
    const alternatives = (schema.anyOf ?? schema.oneOf) as Json[];
    const failures = alternatives.map((alt) => {
      const sub: ValidationContext = { ...ctx, errors: [] };
      validateValue(alt, value, sub, at);
      return sub.errors;
    });
    if (!failures.some((f) => f.length === 0)) {
      const closest = failures.reduce((a, b) => (b.length < a.length ? b : a));
      ctx.errors.push(`${at}: matches none of ${alternatives.length} alternatives (closest: ${closest[0] ?? '?'})`);
      return;
    }
  }

  if (value === null) {
    const types = typesOf(schema);
    if (schema.nullable === true || types?.includes('null') || types === undefined) return;
    ctx.errors.push(`${at}: must not be null`);
    return;
  }

  if (schema.const !== undefined && JSON.stringify(schema.const) !== JSON.stringify(value)) {
    ctx.errors.push(`${at}: must be ${JSON.stringify(schema.const)}`);
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    ctx.errors.push(`${at}: ${JSON.stringify(value)} is not one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`);
    return;
  }

  const types = typesOf(schema) ?? (schema.properties !== undefined ? ['object'] : schema.items !== undefined ? ['array'] : undefined);
  if (types !== undefined && !types.some((t) => hasType(value, t))) {
    ctx.errors.push(`${at}: expected ${types.join(' or ')}, got ${describe(value)}`);
    return;
  }

  if (typeof value === 'string') {
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) ctx.errors.push(`${at}: does not match /${schema.pattern}/`);
    if (typeof schema.minLength === 'number' && [...value].length < schema.minLength) ctx.errors.push(`${at}: shorter than ${schema.minLength}`);
    if (typeof schema.maxLength === 'number' && [...value].length > schema.maxLength) ctx.errors.push(`${at}: longer than ${schema.maxLength}`);
    if (schema.format === 'date-time' && Number.isNaN(Date.parse(value))) ctx.errors.push(`${at}: not a date-time`);
    if (schema.format === 'uuid' && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) ctx.errors.push(`${at}: not a uuid`);
  } else if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) ctx.errors.push(`${at}: below ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) ctx.errors.push(`${at}: above ${schema.maximum}`);
    if (schema.format === 'int32' && (value < -(2 ** 31) || value >= 2 ** 31)) ctx.errors.push(`${at}: outside int32`);
  } else if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) ctx.errors.push(`${at}: fewer than ${schema.minItems} items`);
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) ctx.errors.push(`${at}: more than ${schema.maxItems} items`);
    if (schema.items !== undefined) value.forEach((item, i) => validateValue(schema.items as Json, item, ctx, `${at}[${i}]`));
  } else if (typeof value === 'object') {
    const properties = asObject(schema.properties ?? {});
    for (const name of asArray(schema.required)) {
      if (typeof name === 'string' && !(name in value)) ctx.errors.push(`${at}.${name}: required`);
    }
    for (const [name, propertyValue] of Object.entries(value)) {
      if (name in properties) validateValue(properties[name]!, propertyValue, ctx, `${at}.${name}`);
      else if (schema.additionalProperties === false) ctx.errors.push(`${at}.${name}: not allowed`);
      else if (typeof schema.additionalProperties === 'object' && schema.additionalProperties !== null) validateValue(schema.additionalProperties, propertyValue, ctx, `${at}.${name}`);
      else if (ctx.strict && schema.additionalProperties === undefined && schema.properties !== undefined && !ctx.freeFormObjects?.some((re) => re.test(at))) ctx.errors.push(`${at}.${name}: unknown property (the schema names ${Object.keys(properties).join(', ') || 'none'})`);
    }
  }
}

function typesOf(schema: SchemaObject): string[] | undefined {
  if (typeof schema.type === 'string') return [schema.type];
  if (Array.isArray(schema.type)) return schema.type.filter((t): t is string => typeof t === 'string');
  return undefined;
}

function hasType(value: Json, type: string): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'null':
      return value === null;
    default:
      return true;
  }
}

function describe(value: Json): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && Number.isInteger(value)) return `integer ${value}`;
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return typeof value === 'object' ? 'object' : `${typeof value} ${JSON.stringify(value)}`;
}

/** Follows local `$ref`s (`#/components/...`); specs here never reference other files. */
function resolve(document: LoadedDocument, ref: Json | undefined, depth = 0): SchemaObject {
  const node = asObject(ref ?? {});
  if (typeof node.$ref !== 'string') return node;
  if (depth > 32) throw new Error(`${document.file}: $ref chain too deep at ${node.$ref}`);
  if (!node.$ref.startsWith('#/')) throw new Error(`${document.file}: only local $refs are supported, got ${node.$ref}`);
  let target: Json = document.doc;
  for (const raw of node.$ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    target = asObject(target)[key] ?? null;
    if (target === null) throw new Error(`${document.file}: unresolved $ref ${node.$ref}`);
  }
  return resolve(document, target, depth + 1);
}

function asObject(value: Json | undefined): SchemaObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {};
}

function asArray(value: Json | undefined): Json[] {
  return Array.isArray(value) ? value : [];
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
