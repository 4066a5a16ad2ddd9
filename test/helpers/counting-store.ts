import type { SessionStore, StoreCapabilities, StoreEntry } from '../../src/store.js';

/** Every operation of the store contract, by name. */
export type StoreOp = 'get' | 'create' | 'update' | 'touch' | 'delete' | 'prune' | 'count' | 'clear' | 'close';

/** The operations that change a session record. */
export const WRITE_OPS: readonly StoreOp[] = ['create', 'update', 'touch', 'delete'];

const ALL_OPS: readonly StoreOp[] = ['get', 'create', 'update', 'touch', 'delete', 'prune', 'count', 'clear', 'close'];

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
export class CountingStore implements SessionStore {
  readonly inner: SessionStore;
  readonly counts: Record<StoreOp, number> = zeroCounts();
  readonly #delays = new Map<StoreOp, number>();
  readonly #faults = new Map<StoreOp, Fault>();
  readonly #holds = new Map<StoreOp, { arrive: () => void; gate: Promise<void> }[]>();

  /** Wraps `inner`; `delays` adds a fixed latency (ms) to the named operations. */
  constructor(inner: SessionStore, options: { delays?: Partial<Record<StoreOp, number>> } = {}) {
    this.inner = inner;
    for (const [op, ms] of Object.entries(options.delays ?? {})) this.#delays.set(op as StoreOp, ms);
  }

  get name(): string {
    return this.inner.name;
  }

  get prefix(): string {
    return this.inner.prefix;
  }

  get capabilities(): StoreCapabilities {
    return this.inner.capabilities;
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
    return Object.fromEntries(ALL_OPS.filter((op) => this.counts[op] > 0).map((op) => [op, this.counts[op]]));
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

  get(key: string): Promise<StoreEntry | undefined> {
    return this.#run('get', () => this.inner.get(key));
  }

  create(key: string, value: string, expiresAt: number): Promise<boolean> {
    return this.#run('create', () => this.inner.create(key, value, expiresAt));
  }

  update(key: string, expected: string, value: string, expiresAt: number): Promise<boolean> {
    return this.#run('update', () => this.inner.update(key, expected, value, expiresAt));
  }

  touch(key: string, expiresAt: number): Promise<boolean> {
    return this.#run('touch', () => this.inner.touch(key, expiresAt));
  }

  delete(key: string): Promise<boolean> {
    return this.#run('delete', () => this.inner.delete(key));
  }

  prune(): Promise<number> {
    return this.#run('prune', () => this.inner.prune());
  }

  count(): Promise<number> {
    return this.#run('count', () => this.inner.count());
  }

  clear(): Promise<void> {
    return this.#run('clear', () => this.inner.clear());
  }

  close(): Promise<void> {
    return this.#run('close', () => this.inner.close());
  }

  async #run<T>(op: StoreOp, call: () => Promise<T>): Promise<T> {
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

function zeroCounts(): Record<StoreOp, number> {
  return { get: 0, create: 0, update: 0, touch: 0, delete: 0, prune: 0, count: 0, clear: 0, close: 0 };
}
