import type { SessionStore, StoreEntry } from '../store.js';
import type { LegacySessionData, LegacyStore } from '../legacy-store.js';
import { callLegacy } from '../legacy-store.js';
import { KvSessionError } from '../errors.js';

let warned = false;

/**
 * Serves an express-session `Store` (connect-redis, connect-pg-simple, ...) as a kvsession store.
 * Each kvsession record is kept as `{ cookie: { expires }, kvsession: text }`, so the store's own
 * expiry (which reads `cookie.expires`) still applies. Its API has no conditional write, so
 * create/update/touch are read-then-write: NOT atomic, and said so once at construction.
 */
export function legacyStoreAdapter(
  store: LegacyStore,
  prefix: string | undefined,
  timeoutMs: number,
): SessionStore {
  if (!warned) {
    warned = true;
    process.emitWarning(
      'kvsession: an express-session Store is not atomic: two concurrent requests of one session can lose a change, and a late save can bring back a destroyed session. Pass a kvsession store URL (redis://, postgres://, sqlite://) for those guarantees.',
    );
  }
  const p = prefix ?? '';
  const call = <T>(
    what: string,
    fn: (done: (err: unknown, value?: T) => void) => void,
  ): Promise<T | undefined> => callLegacy<T>(what, timeoutMs, fn);
  const read = async (key: string): Promise<StoreEntry | undefined> => {
    const sess = await call<LegacySessionData | null>('get', (done) => store.get(p + key, done));
    const text = (sess as { kvsession?: unknown } | null | undefined)?.kvsession;
    if (typeof text !== 'string') return undefined;
    const expiresAt = Date.parse(String(sess?.cookie?.expires));
    if (!Number.isFinite(expiresAt) || expiresAt <= Date.now()) return undefined;
    return { value: text, expiresAt };
  };
  const write = (key: string, value: string, expiresAt: number): Promise<unknown> => {
    const sess: LegacySessionData & { kvsession: string } = {
      cookie: {
        originalMaxAge: expiresAt - Date.now(),
        expires: new Date(expiresAt).toISOString(),
      },
      kvsession: value,
    };
    return call('set', (done) => store.set(p + key, sess, done));
  };
  return {
    name: 'express-session-store',
    prefix: p,
    capabilities: { atomic: false, nativeExpiry: true },
    get: read,
    async create(key, value, expiresAt) {
      if ((await read(key)) !== undefined) return false;
      await write(key, value, expiresAt);
      return true;
    },
    async update(key, expected, value, expiresAt) {
      const current = await read(key);
      if (current?.value !== expected) return false;
      await write(key, value, expiresAt);
      return true;
    },
    async touch(key, expiresAt) {
      const current = await read(key);
      if (current === undefined) return false;
      await write(key, current.value, expiresAt);
      return true;
    },
    async delete(key) {
      const existed = (await read(key)) !== undefined;
      await call('destroy', (done) => store.destroy(p + key, done));
      return existed;
    },
    // The store expires its records by itself (cookie.expires).
    prune: () => Promise.resolve(0),
    count(): Promise<number> {
      const length = (store as { length?: (cb: (err: unknown, n?: number) => void) => void })
        .length;
      if (typeof length !== 'function') {
        return Promise.reject(
          new KvSessionError(
            'ERR_KVSESSION_USAGE',
            'this express-session Store cannot count its sessions (it has no length())',
          ),
        );
      }
      return call<number>('length', (done) => length.call(store, done)).then((n) => n ?? 0);
    },
    async clear() {
      const clear = (store as { clear?: (cb: (err?: unknown) => void) => void }).clear;
      if (typeof clear === 'function') await call('clear', (done) => clear.call(store, done));
    },
    // The app built the store and its client: closing them is the app's call.
    close: () => Promise.resolve(),
  };
}
