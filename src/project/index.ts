/** Project files: loading and validation (zod), with file:line errors. */
export * from './project-schema';
export * from './load-project';
export { parseYaml, readYamlFile, type Env, type YamlSource } from './yaml-file';
export { formatZodIssue } from './zod-issues';
