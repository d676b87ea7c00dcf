/**
 * The `cdp` command line: parses arguments and hands each command to its module. Owns the
 * exit codes (0 ok, 1 a run failed, 2 bad usage or config) and the rule that a user never
 * sees a stack trace: every error becomes one line on stderr (CDP_DEBUG=1 adds the cause).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { isCdpError, messageOf } from '../errors';
import { compileCommand } from './compile-command';
import { debugCommand } from './debug-command';
import { demoCommand } from './demo-command';
import { identityExplainCommand, identityRunCommand, identityStatsCommand } from './identity-command';
import { initCommand } from './init-command';
import { createOutput, type Output } from './output';
import type { GlobalOptions } from './project-context';
import { runCommand } from './run-command';
import { segmentsListCommand, segmentsOverlapCommand, segmentsPreviewCommand, segmentsRunCommand, segmentsShowCommand, segmentsSizeCommand } from './segments-command';
import { serveCommand } from './serve-command';
import { keysCreateCommand, keysListCommand, keysRevokeCommand, keysRotateSecretsCommand } from './keys-command';
import { syncPlanCommand, syncRejectedCommand, syncRunCommand, syncRunsCommand } from './sync-command';

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export async function main(argv: string[]): Promise<void> {
  process.exitCode = await runCli(argv);
}

export async function runCli(argv: string[], io: { stdout?: NodeJS.WriteStream; stderr?: NodeJS.WriteStream } = {}): Promise<number> {
  const json = argv.includes('--json');
  const out = createOutput({ json, ...io });
  let exitCode: number = EXIT.ok;
  const program = buildProgram(out, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    return reportError(error, out);
  }
}

function buildProgram(out: Output, setExit: (code: number) => void): Command {
  const program = new Command('cdp')
    .description('warehouse-native customer data platform')
    .option('-p, --project-dir <dir>', 'project folder (holds cdp.yml)', '.')
    .option('--json', 'print a machine-readable result on stdout', false)
    .exitOverride()
    .configureOutput({ writeErr: (text) => out.error(text.trimEnd()) })
    .showHelpAfterError(false);

  const globals = (command: Command): GlobalOptions => {
    const options = command.optsWithGlobals<{ projectDir: string; json: boolean }>();
    return { projectDir: options.projectDir, json: options.json };
  };

  program
    .command('init')
    .description('create a new project that runs as is on the embedded DuckDB')
    .argument('[dir]', 'folder to create', '.')
    .action(async (dir: string) => setExit(await initCommand(dir, out)));

  program
    .command('compile')
    .description('render models to SQL in target/compiled/<dialect>/')
    .option('-s, --select <selector...>', 'name, name+, +name, tag:x', [])
    .addOption(new Option('--dialect <dialect>', 'compile for another warehouse').choices(['duckdb', 'postgres', 'bigquery', 'snowflake']))
    .action(async (options: { select: string[]; dialect?: string }, command: Command) =>
      setExit(await compileCommand(globals(command), options, out)),
    );

  program
    .command('run')
    .description('build models in the warehouse, in dependency order; a full run (no --select) of a project with segments/ then resolves identity and builds segments')
    .option('-s, --select <selector...>', 'name, name+, +name, tag:x', [])
    .option('-t, --threads <n>', 'models built at once (default: threads in cdp.yml)', parsePositiveInt)
    .option('--full-refresh', 'rebuild incremental models from scratch', false)
    .action(async (options: { select: string[]; threads?: number; fullRefresh: boolean }, command: Command) =>
      setExit(await runCommand(globals(command), options, out)),
    );

  const identity = program.command('identity').description('resolve identities into profiles (identity.yml), explain one, show figures');
  identity
    .command('run')
    .description('build the identity graph, stable profiles and accounts in the warehouse')
    .option('--full-refresh', 'recompute every component from all source rows (profile ids stay stable)', false)
    .action(async (options: { fullRefresh: boolean }, command: Command) => setExit(await identityRunCommand(globals(command), options, out)));
  identity
    .command('explain')
    .description('show the profile of one identifier: identifiers, the edges that joined them, rejections, history')
    .argument('<type:value>', 'e.g. email:ann@example.com')
    .action(async (lookup: string, _options: unknown, command: Command) => setExit(await identityExplainCommand(globals(command), lookup, out)));
  identity
    .command('stats')
    .description('profiles, identifiers per profile, the largest clusters, rejections by reason')
    .option('--top <n>', 'largest profiles to list', parsePositiveInt, 5)
    .action(async (options: { top: number }, command: Command) => setExit(await identityStatsCommand(globals(command), options, out)));

  const segments = program.command('segments').description('audiences over profiles and accounts (segments/*.yml): list, show, size, preview, overlap, run');
  segments
    .command('list')
    .description('every segment with its kind and last materialised size')
    .action(async (_options: unknown, command: Command) => setExit(await segmentsListCommand(globals(command), out)));
  segments
    .command('show')
    .description('a segment\'s definition and its compiled SQL')
    .argument('<name>', 'segment name (its file name in segments/)')
    .action(async (name: string, _options: unknown, command: Command) => setExit(await segmentsShowCommand(globals(command), name, out)));
  segments
    .command('size')
    .description('live size, with the count after each condition group')
    .argument('<name>', 'segment name')
    .action(async (name: string, _options: unknown, command: Command) => setExit(await segmentsSizeCommand(globals(command), name, out)));
  segments
    .command('preview')
    .description('sample members with chosen traits (personal data masked unless --unmask)')
    .argument('<name>', 'segment name')
    .option('--traits <columns>', 'comma-separated columns to show')
    .option('-n, --limit <n>', 'members to show', parsePositiveInt, 10)
    .option('--unmask', 'show personal data unmasked', false)
    .action(async (name: string, options: { traits?: string; limit: number; unmask: boolean }, command: Command) =>
      setExit(await segmentsPreviewCommand(globals(command), name, options, out)),
    );
  segments
    .command('overlap')
    .description('pairwise overlap of two or more segments')
    .argument('<names...>', 'segment names')
    .action(async (names: string[], _options: unknown, command: Command) => setExit(await segmentsOverlapCommand(globals(command), names, out)));
  segments
    .command('run')
    .description('materialise segments and update their membership history (cdp run does this after models and identity)')
    .option('-s, --select <name...>', 'only these segments', [])
    .action(async (options: { select: string[] }, command: Command) => setExit(await segmentsRunCommand(globals(command), options, out)));

  program
    .command('debug')
    .description('show the resolved configuration and check the connections')
    .action(async (_options: unknown, command: Command) => setExit(await debugCommand(globals(command), out)));

  program
    .command('demo')
    .description('generate the demo retailer\'s data into the embedded warehouse and build its models')
    .option('--people <n>', 'people to generate', parsePositiveInt, 10_000)
    .option('--seed <n>', 'random seed (same seed, same data)', parsePositiveInt, 42)
    .option('--dir <dir>', 'demo project folder (default: the bundled examples/demo)')
    .option('-t, --threads <n>', 'models built at once', parsePositiveInt)
    .action(async (options: { people: number; seed: number; dir?: string; threads?: number }, command: Command) =>
      setExit(await demoCommand({ ...options, json: globals(command).json }, out)),
    );

  const sync = program.command('sync').description('plan and run syncs to destinations (syncs/*.yml)');
  sync
    .command('plan')
    .description('dry run: what a run would send (counts and samples); sends nothing')
    .argument('<name>', 'sync name (its file name in syncs/)')
    .option('--full', 'plan a resend of every row', false)
    .option('--retry-rejected', 'include rows rejected before with unchanged data', false)
    .action(async (name: string, options: { full: boolean; retryRejected: boolean }, command: Command) =>
      setExit(await syncPlanCommand(globals(command), name, options, out)),
    );
  sync
    .command('run')
    .description('send what changed since the last run')
    .argument('<name>', 'sync name')
    .option('--full', 'resend every row of the audience', false)
    .option('--retry-rejected', 'resend rows rejected before even if their data did not change', false)
    .option('--allow-deletions', 'proceed although the deletions exceed max_deletion_share', false)
    .action(async (name: string, options: { full: boolean; retryRejected: boolean; allowDeletions: boolean }, command: Command) =>
      setExit(await syncRunCommand(globals(command), name, options, out)),
    );
  sync
    .command('runs')
    .description('recent runs of a sync with their counts')
    .argument('<name>', 'sync name')
    .option('-n, --limit <n>', 'runs to show', parsePositiveInt, 20)
    .action(async (name: string, options: { limit: number }, command: Command) => setExit(await syncRunsCommand(globals(command), name, options, out)));
  sync
    .command('rejected')
    .description('rows the destination rejected, with its reasons')
    .argument('<name>', 'sync name')
    .option('-n, --limit <n>', 'rows to show', parsePositiveInt, 100)
    .action(async (name: string, options: { limit: number }, command: Command) => setExit(await syncRejectedCommand(globals(command), name, options, out)));

  const serveOptions = (command: Command, defaults: { work: boolean }) =>
    command
      .option('--concurrency <n>', 'jobs (different syncs) run at once by this process', parsePositiveInt, 4)
      .option('--control <url>', 'control DB URL (default: control.url in cdp.yml, or CDP_CONTROL_URL)')
      .option('--tick-ms <n>', 'how often schedules are checked', parsePositiveInt)
      .option('--heartbeat-ms <n>', 'worker heartbeat interval', parsePositiveInt)
      .option('--dead-after-ms <n>', 'a worker silent this long is dead and its job is taken over', parsePositiveInt)
      .option(defaults.work ? '--no-work' : '--work', defaults.work ? 'serve the API and fire schedules, but leave jobs to workers' : 'also run jobs');
  serveOptions(
    program
      .command('serve')
      .description('REST API (OpenAPI at /openapi.json) + scheduler + jobs; SIGTERM shuts down gracefully')
      .option('--host <host>', 'listen address', '127.0.0.1')
      .option('--port <port>', 'listen port', parsePositiveInt, 3000)
      .option('--log-requests', 'one log line per request', false),
    { work: true },
  ).action(async (options: { host: string; port: number; concurrency: number; work: boolean; control?: string; tickMs?: number; heartbeatMs?: number; deadAfterMs?: number; logRequests: boolean }, command: Command) =>
    setExit(await serveCommand(globals(command), { ...options, work: options.work !== false }, out, 'serve')),
  );
  serveOptions(program.command('worker').description('scheduler + jobs without HTTP; many workers share a PostgreSQL control DB'), { work: true }).action(
    async (options: { concurrency: number; work: boolean; control?: string; tickMs?: number; heartbeatMs?: number; deadAfterMs?: number }, command: Command) =>
      setExit(await serveCommand(globals(command), { ...options, host: '', port: 0, work: options.work !== false }, out, 'worker')),
  );

  const keys = program.command('keys').description('API tokens and the encryption key of stored secrets');
  keys
    .command('create')
    .description('create an API token (printed once)')
    .requiredOption('--name <name>', 'who or what uses it')
    .addOption(new Option('--scope <scope>', 'read < write < admin').choices(['read', 'write', 'admin']).default('read'))
    .action(async (options: { name: string; scope: 'read' | 'write' | 'admin' }, command: Command) => setExit(await keysCreateCommand(globals(command), options, out)));
  keys.command('list').description('API tokens (never their secrets)').action(async (_o: unknown, command: Command) => setExit(await keysListCommand(globals(command), out)));
  keys
    .command('revoke')
    .description('revoke a token by id or name')
    .argument('<id-or-name>')
    .action(async (idOrName: string, _o: unknown, command: Command) => setExit(await keysRevokeCommand(globals(command), idOrName, out)));
  keys
    .command('rotate-secrets')
    .description('re-encrypt stored destination secrets from the old key to CDP_SECRET_KEY')
    .requiredOption('--old-key-env <name>', 'environment variable holding the old key')
    .action(async (options: { oldKeyEnv: string }, command: Command) => setExit(await keysRotateSecretsCommand(globals(command), options, out)));

  return program;
}

function parsePositiveInt(value: string): number {
  const n = Number(value.replace(/_/g, ''));
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`'${value}' is not a positive whole number`);
  return n;
}

function reportError(error: unknown, out: Output): number {
  if (error instanceof CommanderError) {
    // Help and version are not errors; commander already printed them.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT.ok;
    return EXIT.usage;
  }
  if (isCdpError(error)) {
    out.error(`error: ${error.toLine()}`);
    if (process.env.CDP_DEBUG && error.cause) out.error(String((error.cause as Error).stack ?? error.cause));
    return error.kind === 'config' ? EXIT.usage : EXIT.failed;
  }
  out.error(`internal error: ${messageOf(error)} — please report it with CDP_DEBUG=1 output`);
  if (process.env.CDP_DEBUG) out.error(String((error as Error)?.stack ?? error));
  return EXIT.failed;
}
