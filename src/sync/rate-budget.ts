/**
 * The request budget of one destination account, shared by every sync in this process that
 * sends to it (keyed by the destination's name in destinations.yml). A sliding-window log:
 * at most `count` requests in any `perMs` window. A request occupies a slot from when it
 * starts until `perMs` after it *finished* — the vendor saw it somewhere in between, so the
 * vendor's own window (counting arrivals) can never see more than `count`, whatever the
 * network delay, while the budget is still used almost fully. A 429 pauses the whole budget
 * for Retry-After, so concurrent batches stop together instead of each hitting the limit.
 * A vendor with several limits (per second and per minute) gets one window each.
 */

export interface RequestBudget {
  /** Resolves when a request may start, with the function to call when it is over. */
  take(signal?: AbortSignal): Promise<() => void>;
  /** No request starts for `ms` (the vendor said so). */
  pause(ms: number): void;
}

export interface BudgetSpec {
  count: number;
  perMs: number;
}

export function createRequestBudget(spec: BudgetSpec | undefined, now: () => number = () => performance.now()): RequestBudget {
  /** Finish times of requests still inside the window, in order. */
  const finished: number[] = [];
  let head = 0;
  let inFlight = 0;
  let pausedUntil = 0;
  let queue: Promise<unknown> = Promise.resolve();
  let wakeOnFinish: (() => void) | undefined;

  const sleep = (ms: number, signal?: AbortSignal, onFinish = false) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (wakeOnFinish === done) wakeOnFinish = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal!.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (onFinish) wakeOnFinish = done;
    });

  const release = () => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      inFlight--;
      if (spec) finished.push(now());
      wakeOnFinish?.();
    };
  };

  const acquire = async (signal?: AbortSignal): Promise<() => void> => {
    for (;;) {
      const t = now();
      if (t < pausedUntil) {
        await sleep(pausedUntil - t, signal);
        continue;
      }
      if (!spec) {
        inFlight++;
        return release();
      }
      while (head < finished.length && finished[head]! <= t - spec.perMs) head++;
      if (head > 1024 && head * 2 > finished.length) {
        finished.splice(0, head);
        head = 0;
      }
      if (inFlight + finished.length - head < spec.count) {
        inFlight++;
        return release();
      }
      // Full: wait for the oldest finished request to leave the window, or for one in flight to finish.
      const wait = head < finished.length ? finished[head]! + spec.perMs - t + 1 : 60_000;
      await sleep(wait, signal, true);
    }
  };

  return {
    take(signal) {
      // One waiter at a time, in arrival order: fairness between syncs sharing the budget.
      const next = queue.then(() => acquire(signal));
      queue = next.catch(() => undefined);
      return next;
    },
    pause(ms) {
      pausedUntil = Math.max(pausedUntil, now() + ms);
    },
  };
}

/**
 * Several windows at once (Klaviyo: 10 per second *and* 150 per minute): a request starts
 * only when every window admits it, and holds a slot in each until it is over. Windows are
 * taken in order, so a request waiting on the minute window already holds its second slot —
 * conservative, never over either limit.
 */
export function createMultiWindowBudget(specs: readonly BudgetSpec[], now?: () => number): RequestBudget {
  if (specs.length <= 1) return createRequestBudget(specs[0], now);
  const windows = specs.map((spec) => createRequestBudget(spec, now));
  return {
    async take(signal) {
      const releases: (() => void)[] = [];
      try {
        for (const window of windows) releases.push(await window.take(signal));
      } catch (error) {
        releases.forEach((release) => release());
        throw error;
      }
      return () => releases.forEach((release) => release());
    },
    pause(ms) {
      windows.forEach((window) => window.pause(ms));
    },
  };
}

const budgets = new Map<string, { spec: string; budget: RequestBudget }>();

/** The process-wide budget of a destination account (created on first use). */
export function budgetFor(destination: string, spec: BudgetSpec | readonly BudgetSpec[] | undefined): RequestBudget {
  const specs = spec === undefined ? [] : Array.isArray(spec) ? (spec as readonly BudgetSpec[]) : [spec as BudgetSpec];
  const key = JSON.stringify(specs);
  const existing = budgets.get(destination);
  if (existing && existing.spec === key) return existing.budget;
  const budget = createMultiWindowBudget(specs);
  budgets.set(destination, { spec: key, budget });
  return budget;
}

/** From a requests-per-second figure: whole requests per window, window stretched to match. */
export function budgetFromRate(requestsPerSecond: number): BudgetSpec {
  const count = Math.max(1, Math.round(requestsPerSecond));
  return { count, perMs: (1000 * count) / requestsPerSecond };
}
