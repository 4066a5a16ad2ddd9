import type { SessionStore, StoreEntry } from './store.js';
import type { Head, LegacyHead } from './user-slots.js';
import { KvSessionError } from './errors.js';
import { EMPTY_HEAD, decodeHead, encodeHead, encodeSlot, indexKey, slotKey } from './user-slots.js';

/** A slot reserved in the head: its number, the user's session count bound, and when (performance.now()). */
export interface Reserved {
  readonly slot: number;
  readonly count: number;
  readonly at: number;
}

// Upper bound of one jittered pause between compare-and-set attempts on the head.
const MAX_BACKOFF_MS = 64;
const MIGRATE_ATTEMPTS = 4;

/** Reads, writes and reserves slots in users' index heads (see user-slots.ts for the format). */
export class UserHeads {
  readonly #store: SessionStore;
  readonly #now: () => number;
  readonly #graceMs: number;
  readonly #absoluteMs: number;

  /** `graceMs` bounds the retries of a reservation; `absoluteMs` is how long a head outlives a login. */
  constructor(store: SessionStore, now: () => number, graceMs: number, absoluteMs: number) {
    this.#store = store;
    this.#now = now;
    this.#graceMs = graceMs;
    this.#absoluteMs = absoluteMs;
  }

  /** The head, with an index from before slots migrated first. */
  async read(userId: string): Promise<{ entry: StoreEntry | undefined; head: Head }> {
    for (let attempt = 0; attempt < MIGRATE_ATTEMPTS; attempt++) {
      const entry = await this.#store.get(indexKey(userId));
      if (entry === undefined) return { entry, head: EMPTY_HEAD };
      const head = decodeHead(entry.value);
      if (!('legacy' in head)) return { entry, head };
      await this.#migrate(userId, entry, head);
    }
    throw conflict('the session index of a user could not be migrated');
  }

  /** Creates the head (no `entry`) or replaces it if it still is `entry`; false when it changed meanwhile. */
  write(userId: string, entry: StoreEntry | undefined, head: Head, expiresAt: number): Promise<boolean> {
    const value = encodeHead(head);
    return entry === undefined
      ? this.#store.create(indexKey(userId), value, expiresAt)
      : this.#store.update(indexKey(userId), entry.value, value, expiresAt);
  }

  /**
   * Reserves `count` consecutive slots with one compare-and-set of the head, retried with jittered
   * backoff for at most graceMs; the head then covers them and outlives the login by the absolute timeout.
   */
  async reserve(userId: string, count: number): Promise<Reserved[]> {
    const started = performance.now();
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) await this.#backoff(started, attempt);
      const { entry, head } = await this.read(userId);
      const now = this.#now();
      // `f` stays the first slot reserved within the window a scan must respect, restarting once it has passed.
      const f = now - head.t < 2 * this.#graceMs ? Math.min(head.f, head.hi) : head.hi;
      const next: Head = { lo: head.lo, hi: head.hi + count, n: head.n + count, f, t: now };
      const expiresAt = Math.max(entry?.expiresAt ?? 0, now + this.#absoluteMs + this.#graceMs);
      if (await this.write(userId, entry, next, expiresAt)) {
        const at = performance.now();
        return Array.from({ length: count }, (_, i) => ({ slot: head.hi + i, count: next.n, at }));
      }
    }
  }

  /** Moves an index from the one-record format into slots 0..k-1, each kept until its session's absolute deadline. */
  async #migrate(userId: string, entry: StoreEntry, legacy: LegacyHead): Promise<void> {
    const now = this.#now();
    const members = legacy.legacy.filter(([, deadline]) => deadline > now);
    // at = 0: a migrated slot whose session is gone is dead at once, never "pending".
    await Promise.all(members.map(([key, deadline], i) => this.#store.create(slotKey(userId, i), encodeSlot({ key, at: 0 }), deadline + this.#graceMs)));
    const expiresAt = members.reduce((max, [, deadline]) => Math.max(max, deadline + this.#graceMs), entry.expiresAt);
    const head: Head = { lo: 0, hi: members.length, n: members.length, f: members.length, t: 0 };
    await this.#store.update(indexKey(userId), entry.value, encodeHead(head), expiresAt);
  }

  /** A jittered, growing pause before the next compare-and-set; throws once the time budget (graceMs) is spent. */
  async #backoff(started: number, attempt: number): Promise<void> {
    if (performance.now() - started > this.#graceMs) throw conflict(`the session index of a user kept changing for ${this.#graceMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(MAX_BACKOFF_MS, 2 ** attempt)));
  }
}

/** ERR_KVSESSION_CONFLICT (503) about the user index. */
export function conflict(message: string): KvSessionError {
  return new KvSessionError('ERR_KVSESSION_CONFLICT', message, { status: 503 });
}
