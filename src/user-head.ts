import type { SessionStore, StoreEntry } from './store.js';
import type { Head, LegacyHead, Slot } from './user-slots.js';
import type { RecordCodec } from './record-codec.js';
import { KvSessionError } from './errors.js';
import {
  EMPTY_HEAD,
  decodeHead,
  decodeSlot,
  encodeHead,
  encodeSlot,
  slotKey,
} from './user-slots.js';

/** A slot reserved in the head: its number, the user's session count bound, and when (performance.now()). */
export interface Reserved {
  readonly slot: number;
  readonly count: number;
  readonly at: number;
}

// Upper bound of one jittered pause between compare-and-set attempts on the head.
const MAX_BACKOFF_MS = 64;
const MIGRATE_ATTEMPTS = 4;

/** A slot record as stored (`entry`, whose exact text compare-and-set expects) and what it says, if it opens and parses. */
export interface StoredSlot {
  readonly entry: StoreEntry;
  readonly slot: Slot | undefined;
}

/**
 * Reads, writes and reserves slots in index heads, and reads and writes slot records (see user-slots.ts
 * for the format). An index is named by its head's store key (`name`); every record text goes through
 * the codec, sealed and bound to its own key under sealRecords, and one that does not open reads as garbage.
 */
export class UserHeads {
  readonly #store: SessionStore;
  readonly #now: () => number;
  readonly #graceMs: number;
  readonly #absoluteMs: number;
  readonly #codec: RecordCodec;

  /** `graceMs` bounds the retries of a reservation; `absoluteMs` is how long a head outlives a login. */
  constructor(
    store: SessionStore,
    now: () => number,
    graceMs: number,
    absoluteMs: number,
    codec: RecordCodec,
  ) {
    this.#store = store;
    this.#now = now;
    this.#graceMs = graceMs;
    this.#absoluteMs = absoluteMs;
    this.#codec = codec;
  }

  /**
   * The head, with an index from before slots migrated first. A head that does not open (forged, or
   * written in the other sealing mode) reads as empty but keeps its `entry`, so the next write replaces it.
   */
  async read(name: string): Promise<{ entry: StoreEntry | undefined; head: Head }> {
    for (let attempt = 0; attempt < MIGRATE_ATTEMPTS; attempt++) {
      const entry = await this.#store.get(name);
      if (entry === undefined) return { entry, head: EMPTY_HEAD };
      const plain = this.#codec.open(name, entry.value);
      const head = plain === undefined ? EMPTY_HEAD : decodeHead(plain);
      if (!('legacy' in head)) return { entry, head };
      await this.#migrate(name, entry, head);
    }
    throw conflict('the session index of a user could not be migrated');
  }

  /** Creates the head (no `entry`) or replaces it if it still is `entry`; false when it changed meanwhile. */
  write(
    name: string,
    entry: StoreEntry | undefined,
    head: Head,
    expiresAt: number,
  ): Promise<boolean> {
    const value = this.#codec.seal(name, encodeHead(head));
    return entry === undefined
      ? this.#store.create(name, value, expiresAt)
      : this.#store.update(name, entry.value, value, expiresAt);
  }

  /** Slot `n` of index `name`, or undefined when there is no record. */
  async readSlot(name: string, n: number): Promise<StoredSlot | undefined> {
    const key = slotKey(name, n);
    const entry = await this.#store.get(key);
    if (entry === undefined) return undefined;
    const plain = this.#codec.open(key, entry.value);
    return { entry, slot: plain === undefined ? undefined : decodeSlot(plain) };
  }

  /** Writes slot `n` of index `name`: created when there is no `entry`, else replaced if it still is `entry`. */
  writeSlot(
    name: string,
    n: number,
    entry: StoreEntry | undefined,
    slot: Slot,
    expiresAt: number,
  ): Promise<boolean> {
    const key = slotKey(name, n);
    const value = this.#codec.seal(key, encodeSlot(slot));
    return entry === undefined
      ? this.#store.create(key, value, expiresAt)
      : this.#store.update(key, entry.value, value, expiresAt);
  }

  /**
   * Reserves `count` consecutive slots with one compare-and-set of the head, retried with jittered
   * backoff for at most graceMs; the head then covers them and outlives the login by the absolute timeout.
   */
  async reserve(name: string, count: number): Promise<Reserved[]> {
    const started = performance.now();
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) await this.#backoff(started, attempt);
      const { entry, head } = await this.read(name);
      const now = this.#now();
      // `f` stays the first slot reserved within the window a scan must respect, restarting once it has passed.
      const f = now - head.t < 2 * this.#graceMs ? Math.min(head.f, head.hi) : head.hi;
      const next: Head = { lo: head.lo, hi: head.hi + count, n: head.n + count, f, t: now };
      const expiresAt = Math.max(entry?.expiresAt ?? 0, now + this.#absoluteMs + this.#graceMs);
      if (await this.write(name, entry, next, expiresAt)) {
        const at = performance.now();
        return Array.from({ length: count }, (_, i) => ({ slot: head.hi + i, count: next.n, at }));
      }
    }
  }

  /** Moves an index from the one-record format into slots 0..k-1, each kept until its session's absolute deadline. */
  async #migrate(name: string, entry: StoreEntry, legacy: LegacyHead): Promise<void> {
    const now = this.#now();
    const members = legacy.legacy.filter(([, deadline]) => deadline > now);
    // at = 0: a migrated slot whose session is gone is dead at once, never "pending".
    await Promise.all(
      members.map(([key, deadline], i) =>
        this.writeSlot(name, i, undefined, { key, at: 0 }, deadline + this.#graceMs),
      ),
    );
    const expiresAt = members.reduce(
      (max, [, deadline]) => Math.max(max, deadline + this.#graceMs),
      entry.expiresAt,
    );
    const head: Head = { lo: 0, hi: members.length, n: members.length, f: members.length, t: 0 };
    await this.write(name, entry, head, expiresAt);
  }

  /** A jittered, growing pause before the next compare-and-set; throws once the time budget (graceMs) is spent. */
  async #backoff(started: number, attempt: number): Promise<void> {
    if (performance.now() - started > this.#graceMs)
      throw conflict(`the session index of a user kept changing for ${this.#graceMs} ms`);
    await new Promise((resolve) =>
      setTimeout(resolve, Math.random() * Math.min(MAX_BACKOFF_MS, 2 ** attempt)),
    );
  }
}

/** ERR_KVSESSION_CONFLICT (503) about the user index. */
export function conflict(message: string): KvSessionError {
  return new KvSessionError('ERR_KVSESSION_CONFLICT', message, { status: 503 });
}
