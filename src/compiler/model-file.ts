/**
 * Splits a model file into its front matter (YAML between leading `---` lines, validated)
 * and its SQL template body, remembering on which line the body starts so template errors
 * point at the right line of the file.
 */
import { configError } from '../errors';
import { modelConfigSchema, parseYaml, type Env, type ModelConfig, type ModelFile } from '../project';

export interface ParsedModel {
  name: string;
  path: string;
  config: ModelConfig;
  /** The Handlebars SQL template. */
  body: string;
  /** File line of the body's first line. */
  bodyFirstLine: number;
  uniqueKey: string[];
}

const noEnv: Env = {};

export function parseModelFile(file: ModelFile): ParsedModel {
  const lines = file.text.split(/\r?\n/);
  let config: ModelConfig;
  let bodyStart = 0;
  if (lines[0]?.trim() === '---') {
    const end = lines.findIndex((line, i) => i > 0 && line.trim() === '---');
    if (end < 0) {
      throw configError(`${file.path}:1`, 'the front matter opened with --- is never closed', 'add a line with --- after the config block');
    }
    // Model front matter is project code, not deployment config: no ${ENV} here.
    config = parseYaml({ file: file.path, text: lines.slice(1, end).join('\n'), firstLine: 2 }, modelConfigSchema, noEnv);
    bodyStart = end + 1;
  } else {
    config = modelConfigSchema.parse({});
  }
  const uniqueKey = config.unique_key === undefined ? [] : Array.isArray(config.unique_key) ? config.unique_key : [config.unique_key];
  if (config.materialized === 'incremental' && uniqueKey.length === 0) {
    throw configError(`${file.path}:1`, 'an incremental model needs a unique_key', 'add `unique_key: your_id_column` to the front matter');
  }
  return { name: file.name, path: file.path, config, body: lines.slice(bodyStart).join('\n'), bodyFirstLine: bodyStart + 1, uniqueKey };
}
