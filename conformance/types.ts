import type { SessionStore } from '../src/index.js';

/** The test registrar, injected (vitest's or jest's `it`), so the suite never imports a runner. */
export type TestFn = (name: string, fn: () => Promise<void>, timeout?: number) => void;

/** What the suite passes to the factory: a fresh random prefix for this one store. */
export interface MakeStoreOptions {
  prefix: string;
}

/** Builds a fresh store under the given prefix; called once per test (twice for isolation tests). */
export type MakeStore = (options: MakeStoreOptions) => SessionStore | Promise<SessionStore>;

/**
 * Switches for `runStoreConformance(it, makeStore, options)`. Every behaviour group is on unless
 * set to `false`. Each test builds a fresh store under a random prefix, uses random keys, and
 * clears and closes the store when it ends, so tests share no state and may run against a shared
 * server. Expiry tests wait a few hundred ms; the whole suite takes a few seconds per store.
 */
export interface ConformanceOptions {
  /** get/create/delete round trips, 64 KiB and unicode values. @default true */
  basic?: boolean;
  /** Entries past `expiresAt` are never returned and do not block create. @default true */
  expiry?: boolean;
  /** touch() moves the deadline without rewriting the value. @default true */
  touch?: boolean;
  /** update() is a compare-and-set that never recreates a deleted entry. @default true */
  conditional?: boolean;
  /** Two prefixes on one backend never see or delete each other's entries. @default true */
  isolation?: boolean;
  /**
   * Values are opaque text: JSON-looking strings and big integers round-trip byte-exactly and
   * update() compares exact text. The empty string is not tested: the core never writes one. @default true
   */
  values?: boolean;
  /**
   * prune() deletes expired entries only and resolves exactly how many (a store with
   * `capabilities.nativeExpiry` may resolve fewer: its backend got there first); count() counts
   * live session records only, never index records (keys with `:`). @default true
   */
  prune?: boolean;
  /** After close(), every operation rejects with ERR_KVSESSION_STORE_CLOSED; close() twice is fine. @default true */
  close?: boolean;
  /**
   * kvsession's per-user index ("log out everywhere") works over the store: login(), listUserSessions and
   * destroyUserSessions through kvSession() (each test serves a few requests on 127.0.0.1). @default true
   */
  userIndex?: boolean;
  /**
   * Run the record-carrying groups (today: userIndex) with kvsession's `sealRecords` codec, so session
   * and index records are the sealed text the store keeps in that mode, and check that it holds no user id in clear.
   * @default false
   */
  sealRecords?: boolean;
  /**
   * Race tests: concurrent creates, lost-update CAS loops, delete racing update, concurrent binds.
   * `false` does not register them (say so in your store's docs: overlapping saves may lose data).
   * @default true
   */
  concurrency?: boolean;
  /**
   * How long, in ms, after `expiresAt` an entry may still be returned (e.g. a backend whose clock
   * lags the client's). Expiry tests wait this much longer before asserting the entry is gone.
   * @default 0 — the contract says an entry is gone the moment `Date.now() >= expiresAt`.
   */
  expiryGraceMs?: number;
  /**
   * The optional `mergeData` method (server-side per-key merge): set true when the store implements
   * it, and the group then requires it. Off by default, since most stores leave it out.
   * @default false
   */
  merge?: boolean;
  /**
   * What every random prefix the suite hands `makeStore` starts with: tag a CI run's keys with it, so
   * whatever a failed test leaves on a shared server can be found and removed. @default 'kvconf:'
   */
  prefix?: string;
  /** Per-test timeout in ms handed to `it`. @default 20000 */
  timeoutMs?: number;
}
