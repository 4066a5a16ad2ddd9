import type { Encoded } from './serializer.js';
import { setData } from './serializer.js';
import type { DataChanges } from './store.js';

const DELETED = Symbol('deleted');

/**
 * The changes one request has made to its session, per key, until they are saved. Kept as a
 * change log rather than a copy of the data so a save can re-apply exactly these keys onto
 * whatever another request stored meanwhile (per-key merge).
 */
export class PendingChanges {
  // Allocated on the first change: most requests only read, or never touch the session at all.
  #byKey: Map<string, Encoded | typeof DELETED> | undefined;
  #cleared = false;

  /** Records `value` (already encoded) as the new value of `key`. */
  set(key: string, value: Encoded): void {
    (this.#byKey ??= new Map()).set(key, value);
  }

  /** Records the removal of `key`. */
  delete(key: string): void {
    (this.#byKey ??= new Map()).set(key, DELETED);
  }

  /** Records the removal of every key, those changed earlier in this request included. */
  clear(): void {
    this.#cleared = true;
    this.#byKey?.clear();
  }

  /** True when there is anything to save. */
  get any(): boolean {
    return this.#cleared || (this.#byKey !== undefined && this.#byKey.size > 0);
  }

  /** The value `key` has in this request: its own change if any, else the stored `base` one. */
  current(key: string, base: Readonly<Record<string, Encoded>> | undefined): Encoded | undefined {
    const change = this.#byKey?.get(key);
    if (change === DELETED) return undefined;
    if (change !== undefined) return change;
    if (this.#cleared || base === undefined) return undefined;
    return Object.hasOwn(base, key) ? base[key] : undefined;
  }

  /**
   * The data after applying these changes onto `base` (the latest stored data, or none), as the
   * plain object a record holds: stored keys keep their place, new ones follow in the order set.
   */
  applyToData(base: Readonly<Record<string, Encoded>> | undefined): Record<string, Encoded> {
    const changes = this.#byKey;
    const out: Record<string, Encoded> = {};
    if (base !== undefined && !this.#cleared) {
      for (const key of Object.keys(base)) {
        const change = changes?.get(key);
        if (change === undefined) setData(out, key, base[key]);
        else if (change !== DELETED) setData(out, key, change);
      }
    }
    if (changes === undefined) return out;
    for (const [key, change] of changes) {
      if (change !== DELETED && !Object.hasOwn(out, key)) setData(out, key, change);
    }
    return out;
  }

  /** applyToData as a Map, for callers that go on to add or drop keys. */
  applyTo(base: Readonly<Record<string, Encoded>> | undefined): Map<string, Encoded> {
    return new Map(Object.entries(this.applyToData(base)));
  }

  /** The changes of several requests as one, applied in the order given. */
  static combine(all: readonly PendingChanges[]): PendingChanges {
    const out = new PendingChanges();
    for (const changes of all) {
      if (changes.#cleared) out.clear();
      for (const [key, change] of changes.#byKey ?? []) (out.#byKey ??= new Map()).set(key, change);
    }
    return out;
  }

  /** These changes in the form a store merges on its server. */
  toDataChanges(): DataChanges {
    const set = new Map<string, string>();
    const deleted: string[] = [];
    for (const [key, change] of this.#byKey ?? []) {
      if (change === DELETED) deleted.push(key);
      else set.set(key, JSON.stringify(change));
    }
    return { clear: this.#cleared, set, delete: deleted };
  }

  /** Forgets every change: they were saved, or dropped with the session. */
  reset(): void {
    this.#byKey?.clear();
    this.#cleared = false;
  }
}
