/**
 * The request budget: with several windows, a request starts only when every window admits
 * it. Real timers on short windows; the assertions are about counts inside windows, never
 * about how long anything took.
 */
import { createMultiWindowBudget } from '../../src/sync/rate-budget';

async function fire(budget: ReturnType<typeof createMultiWindowBudget>, requests: number, holdMs: number): Promise<number[]> {
  const started: number[] = [];
  await Promise.all(
    Array.from({ length: requests }, async () => {
      const release = await budget.take();
      started.push(performance.now());
      await new Promise((r) => setTimeout(r, holdMs));
      release();
    }),
  );
  return started.sort((a, b) => a - b);
}

/** Most requests that started within any window of `perMs` (sliding). */
function maxInWindow(starts: number[], perMs: number): number {
  let best = 0;
  for (let i = 0, j = 0; i < starts.length; i++) {
    while (starts[i]! - starts[j]! >= perMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

test('two windows: never more than either allows', async () => {
  // 3 per 100 ms and 5 per 600 ms: the second window binds after the first burst.
  const budget = createMultiWindowBudget([
    { count: 3, perMs: 100 },
    { count: 5, perMs: 600 },
  ]);
  const starts = await fire(budget, 8, 5);
  expect(starts).toHaveLength(8);
  expect(maxInWindow(starts, 100)).toBeLessThanOrEqual(3);
  expect(maxInWindow(starts, 600)).toBeLessThanOrEqual(5);
});

test('one window behaves as before; no window means no limit', async () => {
  const single = await fire(createMultiWindowBudget([{ count: 2, perMs: 150 }]), 5, 5);
  expect(maxInWindow(single, 150)).toBeLessThanOrEqual(2);
  const unlimited = await fire(createMultiWindowBudget([]), 20, 1);
  expect(unlimited).toHaveLength(20);
});

test('an aborted wait rejects and does not block later requests', async () => {
  const budget = createMultiWindowBudget([
    { count: 5, perMs: 50 },
    { count: 1, perMs: 100 },
  ]);
  const first = await budget.take();
  const controller = new AbortController();
  const waiting = budget.take(controller.signal);
  controller.abort(new Error('cancelled'));
  await expect(waiting).rejects.toThrow('cancelled');
  first();
  // Once the minute-like window has passed, the next request starts.
  const next = await budget.take(AbortSignal.timeout(5_000));
  next();
});
