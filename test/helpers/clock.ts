/** A manual clock for the `now` option: time moves only when a test advances it. */
export interface FakeClock {
  /** The current fake time (ms since the epoch); pass as `now: clock.now`. */
  readonly now: () => number;
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void;
}

/**
 * Creates a FakeClock starting at real `Date.now()`. Starting at the real time matters with stores
 * that check expiry against their own clock: a fake time never earlier than the real one keeps
 * every record the core still considers live visible to the store.
 */
export function fakeClock(start = Date.now()): FakeClock {
  let t = start;
  return {
    now: () => t,
    advance(ms: number): void {
      t += ms;
    },
  };
}
