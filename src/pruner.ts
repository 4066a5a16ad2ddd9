import type { SessionStore } from './store.js';

/** A running background pruner; `stop()` ends it. */
export interface Pruner {
  stop(): void;
}

/**
 * Prunes expired records every `intervalMs`, each run delayed by up to 25% random jitter so
 * several app instances started together do not sweep in lockstep. The timer is unref'd: it
 * never keeps the process alive. Failures are reported to `onError` and the next run still happens.
 */
export function startPruner(store: SessionStore, intervalMs: number, onError: (err: unknown) => void): Pruner {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = (): void => {
    if (stopped) return;
    const delay = intervalMs + Math.floor(Math.random() * intervalMs * 0.25);
    timer = setTimeout(() => {
      store.prune().then(schedule, (err: unknown) => {
        onError(err);
        schedule();
      });
    }, delay);
    timer.unref();
  };
  schedule();
  return {
    stop(): void {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
