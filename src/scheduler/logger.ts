/**
 * Log lines of the long-running processes: one JSON object a line on stderr (what log
 * shippers read), with a message and flat fields. Callers pass names, counts and ids —
 * never configs, URLs with credentials or request bodies — so no secret reaches a log.
 */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export function createLogger(write: (line: string) => void = (line) => process.stderr.write(line), base: LogFields = {}): Logger {
  const emit = (level: string, message: string, fields: LogFields = {}) => write(`${JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...base, ...fields })}\n`);
  return {
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
