import type { FullSessionStore } from './store.js';

/** A running background pruner. */
export interface Pruner {
  /** Stops scheduling runs; resolves once a run already in flight has settled, so the store can be closed safely. */
  stop(): Promise<void>;
}

/**
 * Prunes expired records every `intervalMs`, each run delayed by up to 25% random jitter so
 * several app instances started together do not sweep in lockstep. The timer is unref'd: it
 * never keeps the process alive. Failures are reported to `onError` and the next run still happens;
 * a run that fails because the pruner was stopped meanwhile (store closing) is not reported.
 */
export function startPruner(
  store: Pick<FullSessionStore, 'prune'>,
  intervalMs: number,
  onError: (err: unknown) => void,
): Pruner {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const run = async (): Promise<void> => {
    try {
      await store.prune();
    } catch (err) {
      if (!stopped) onError(err);
    }
  };
  const schedule = (): void => {
    if (stopped) return;
    const delay = intervalMs + Math.floor(Math.random() * intervalMs * 0.25);
    timer = setTimeout(() => {
      timer = undefined;
      running = run().finally(() => {
        running = undefined;
        schedule();
      });
    }, delay);
    timer.unref();
  };
  schedule();
  return {
    async stop(): Promise<void> {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
