import type { FullSessionStore } from '../../src/store.js';
import { StoreDecorator } from '../../src/store-decorator.js';

/** Every operation of the store contract, by name. */
export type { StoreOperation as StoreOp } from '../../src/store-decorator.js';
import type { StoreOperation as StoreOp } from '../../src/store-decorator.js';

/** The operations that change a session record. */
export const WRITE_OPS: readonly StoreOp[] = ['create', 'update', 'touch', 'delete'];

const ALL_OPS: readonly StoreOp[] = [
  'get',
  'create',
  'update',
  'touch',
  'delete',
  'prune',
  'count',
  'clear',
  'close',
  'mergeData',
];

/** An injected fault: `'fail'` rejects at once, `'hang'` never settles. */
export type Fault = 'fail' | 'hang';

/** A pause on one operation: `reached` resolves when a call arrives, `release()` lets it proceed. */
export interface Hold {
  readonly reached: Promise<void>;
  release(): void;
}

/**
 * Wraps any SessionStore and counts each operation by name, so tests can assert exact store
 * round trips instead of timing. Per-op delays, faults and one-shot holds are injectable.
 * A call is counted when it is issued, whether it then succeeds, fails or hangs.
 */
export class CountingStore extends StoreDecorator {
  // Test stores are all built-in ones, which implement the whole optional tier; the base installs these.
  declare readonly prune: () => Promise<number>;
  declare readonly count: () => Promise<number>;
  declare readonly clear: () => Promise<void>;
  readonly counts: Record<StoreOp, number> = zeroCounts();
  readonly #delays = new Map<StoreOp, number>();
  readonly #faults = new Map<StoreOp, Fault>();
  readonly #holds = new Map<StoreOp, { arrive: () => void; gate: Promise<void> }[]>();

  /** Wraps `inner`; `delays` adds a fixed latency (ms) to the named operations. */
  constructor(
    inner: FullSessionStore,
    options: { delays?: Partial<Record<StoreOp, number>> } = {},
  ) {
    super(inner);
    for (const [op, ms] of Object.entries(options.delays ?? {}))
      this.#delays.set(op as StoreOp, ms);
  }

  /** Sum of the counts of create, update, touch and delete. */
  get writes(): number {
    return WRITE_OPS.reduce((sum, op) => sum + this.counts[op], 0);
  }

  /** Sum of every count. */
  get total(): number {
    return ALL_OPS.reduce((sum, op) => sum + this.counts[op], 0);
  }

  /** Only the non-zero counts, for readable exact assertions: `expect(s.nonZero()).toEqual({ get: 1 })`. */
  nonZero(): Partial<Record<StoreOp, number>> {
    return Object.fromEntries(
      ALL_OPS.filter((op) => this.counts[op] > 0).map((op) => [op, this.counts[op]]),
    );
  }

  /** Sets every count back to zero. */
  reset(): void {
    for (const op of ALL_OPS) this.counts[op] = 0;
  }

  /** Adds `ms` of latency to `op` (undefined removes it). */
  delay(op: StoreOp, ms: number | undefined): void {
    if (ms === undefined) this.#delays.delete(op);
    else this.#delays.set(op, ms);
  }

  /** Makes `op` fail or hang until called again with undefined; `'all'` means every op but close, so tests can still clean up. */
  fault(op: StoreOp | 'all', fault: Fault | undefined): void {
    for (const o of op === 'all' ? ALL_OPS.filter((x) => x !== 'close') : [op]) {
      if (fault === undefined) this.#faults.delete(o);
      else this.#faults.set(o, fault);
    }
  }

  /** Pauses the next call of `op` before it reaches the inner store, until `release()`. */
  hold(op: StoreOp): Hold {
    let arrive!: () => void;
    let release!: () => void;
    const reached = new Promise<void>((resolve) => (arrive = resolve));
    const gate = new Promise<void>((resolve) => (release = resolve));
    const queue = this.#holds.get(op) ?? [];
    queue.push({ arrive, gate });
    this.#holds.set(op, queue);
    return { reached, release };
  }

  protected override async intercept<T>(op: StoreOp, call: () => Promise<T>): Promise<T> {
    this.counts[op]++;
    const held = this.#holds.get(op)?.shift();
    if (held !== undefined) {
      held.arrive();
      await held.gate;
    }
    const ms = this.#delays.get(op);
    if (ms !== undefined) await new Promise((resolve) => setTimeout(resolve, ms));
    const fault = this.#faults.get(op);
    if (fault === 'fail') throw new Error(`injected failure in ${op}`);
    if (fault === 'hang') return new Promise<T>(() => {});
    return call();
  }
}

/** A CountingStore whose compare-and-set is refused the next `refusals` times, as if other requests kept winning. */
export class RefusingStore extends CountingStore {
  refusals = 0;

  override async update(
    key: string,
    expected: string,
    value: string,
    expiresAt: number,
  ): Promise<boolean> {
    if (this.refusals === 0) return super.update(key, expected, value, expiresAt);
    this.refusals--;
    // Counted like any other call, though the store never saw it.
    this.counts.update++;
    return false;
  }
}

function zeroCounts(): Record<StoreOp, number> {
  return {
    get: 0,
    create: 0,
    update: 0,
    touch: 0,
    delete: 0,
    prune: 0,
    count: 0,
    clear: 0,
    close: 0,
    mergeData: 0,
  };
}
