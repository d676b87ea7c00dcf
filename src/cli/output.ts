/**
 * How commands talk to people and scripts. On a terminal, long work shows a live progress
 * line; elsewhere (CI, pipes) each event is one plain line. With --json only the final
 * machine-readable result goes to stdout. Errors always go to stderr as one line.
 */
export interface Output {
  readonly json: boolean;
  /** A line for people (suppressed under --json). */
  line(text: string): void;
  /** Transient progress: redrawn in place on a terminal, dropped elsewhere. */
  progress(text: string): void;
  /** The final result for scripts (only under --json). */
  result(value: unknown): void;
  error(text: string): void;
}

export function createOutput(options: { json: boolean; stdout?: NodeJS.WriteStream; stderr?: NodeJS.WriteStream }): Output {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const live = Boolean(stdout.isTTY) && !options.json;
  let progressShown = false;
  const clearProgress = () => {
    if (progressShown) {
      stdout.write('\r\x1b[2K');
      progressShown = false;
    }
  };
  return {
    json: options.json,
    line(text) {
      if (options.json) return;
      clearProgress();
      stdout.write(`${text}\n`);
    },
    progress(text) {
      if (!live) return;
      const width = stdout.columns ?? 100;
      stdout.write(`\r\x1b[2K${text.length > width - 1 ? `${text.slice(0, width - 2)}…` : text}`);
      progressShown = true;
    },
    result(value) {
      if (options.json) stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
    error(text) {
      clearProgress();
      stderr.write(`${text}\n`);
    },
  };
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
