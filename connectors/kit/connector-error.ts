/**
 * A whole-batch failure, classified so the engine knows what to do: retry later
 * (rate_limited, transient), stop the run (auth, config), or reject the batch's rows
 * (permanent — the engine then splits the batch to isolate the bad rows).
 */
import { CdpError } from '../../src/errors';

export type ConnectorFailure = 'auth' | 'config' | 'rate_limited' | 'transient' | 'permanent';

export class ConnectorError extends CdpError {
  readonly failure: ConnectorFailure;
  readonly retryAfterMs?: number;
  readonly httpStatus?: number;

  constructor(
    destination: string,
    failure: ConnectorFailure,
    message: string,
    options: { hint?: string; cause?: unknown; retryAfterMs?: number; httpStatus?: number } = {},
  ) {
    super(message, { code: 'CONNECTOR', kind: failure === 'config' ? 'config' : 'runtime', where: `destination ${destination}`, hint: options.hint, cause: options.cause });
    this.name = 'ConnectorError';
    this.failure = failure;
    this.retryAfterMs = options.retryAfterMs;
    this.httpStatus = options.httpStatus;
  }

  get retryable(): boolean {
    return this.failure === 'rate_limited' || this.failure === 'transient';
  }
}
