/**
 * Waiting between polls of an asynchronous vendor job. Resolves after `ms`, or at once when
 * the run is cancelled (callers check `signal.aborted`); the abort listener is removed either
 * way, so a long poll loop does not pile listeners onto the run's signal.
 */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
