import { existsSync } from 'node:fs';
import type Keyv from 'keyv';
import type { FullSessionStore, SessionStore, StoreOptions } from '../src/store.js';
import { KvSessionError } from '../src/errors.js';
import { createMemoryStore } from './memory.js';
import { createKeyvStore } from './keyv.js';
import { createFileStore } from './file.js';
import { createSqliteStore, sqlitePath } from './sqlite.js';
import { fileUrlToDir } from './file-records.js';
import { createPostgresStore } from './postgres.js';
import { createRedisStore } from './redis.js';
import { nativeKeyvStore } from './keyv-native.js';
import { KeyvRedisStore, isKeyvRedis } from './redis-keyv.js';

/** The URL schemes createStore understands. */
export const STORE_SCHEMES = [
  'memory',
  'file',
  'sqlite',
  'redis',
  'rediss',
  'redis-cluster',
  'rediss-cluster',
  'redis-sentinel',
  'rediss-sentinel',
  'postgres',
  'postgresql',
] as const;

/** Builds a store from a URL such as `sqlite://./sessions.db` or `redis://127.0.0.1:6379`. */
export function createStore(url: string, options: StoreOptions = {}): FullSessionStore {
  if (typeof url !== 'string') {
    throw new KvSessionError(
      'ERR_KVSESSION_BAD_STORE_URL',
      'a store URL must be a string such as memory:// or sqlite://./sessions.db',
    );
  }
  const match = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url);
  if (match === null) {
    throw new KvSessionError(
      'ERR_KVSESSION_BAD_STORE_URL',
      `${JSON.stringify(url)} is not a store URL; expected e.g. memory://, file:./sessions, sqlite://./sessions.db, redis://127.0.0.1:6379 or postgres://user@host/db`,
    );
  }
  const scheme = (match[1] as string).toLowerCase();
  switch (scheme) {
    case 'memory':
      return createMemoryStore(options);
    case 'file':
      return createFileStore({ ...options, url });
    case 'sqlite':
      return createSqliteStore({ ...options, url });
    case 'redis':
    case 'rediss':
    case 'redis-cluster':
    case 'rediss-cluster':
    case 'redis-sentinel':
    case 'rediss-sentinel':
      return createRedisStore({ ...options, url });
    case 'postgres':
    case 'postgresql':
      return createPostgresStore({ ...options, url });
    default:
      throw new KvSessionError(
        'ERR_KVSESSION_UNKNOWN_STORE',
        `unknown store scheme "${scheme}:"; known schemes: ${STORE_SCHEMES.map((s) => `${s}:`).join(', ')}`,
      );
  }
}

/**
 * For tools that inspect an existing store (the CLI): throws ERR_KVSESSION_BAD_STORE_URL when a
 * `sqlite:` or `file:` URL names a path that does not exist, where createStore would start an empty one.
 */
export function checkStoreExists(url: string): void {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
  const path =
    scheme === 'sqlite' ? sqlitePath(url) : scheme === 'file' ? fileUrlToDir(url) : undefined;
  if (path === undefined || path === ':memory:' || existsSync(path)) return;
  // The path is not echoed on its own: only the whole URL goes through the message's redaction of credentials.
  throw new KvSessionError(
    'ERR_KVSESSION_BAD_STORE_URL',
    `${JSON.stringify(url)} names a path that does not exist; check the path`,
  );
}

/** Turns the `store` option (URL, store object or Keyv instance) into a SessionStore. */
export function resolveStore(
  store: string | SessionStore | Keyv,
  options: StoreOptions,
): SessionStore {
  if (typeof store === 'string') return createStore(store, options);
  if (isSessionStore(store)) return store;
  if (store !== null && typeof store === 'object' && typeof (store as Keyv).getRaw === 'function') {
    // A Keyv over @keyv/redis, @keyv/postgres or @keyv/sqlite is served atomically through its own connection.
    if (isKeyvRedis(store as Keyv)) return new KeyvRedisStore(store as Keyv, options);
    return nativeKeyvStore(store as Keyv, options) ?? createKeyvStore(store as Keyv, options);
  }
  throw new KvSessionError(
    'ERR_KVSESSION_BAD_OPTION',
    'store must be a URL string, a kvsession store or a Keyv instance',
  );
}

function isSessionStore(value: unknown): value is SessionStore {
  const s = value as Partial<SessionStore> | null;
  return (
    s !== null &&
    typeof s === 'object' &&
    typeof s.create === 'function' &&
    typeof s.update === 'function' &&
    typeof s.touch === 'function'
  );
}
