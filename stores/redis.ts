import { createHash } from 'node:crypto';
import type { SessionStore, StoreEntry, StoreOptions } from '../src/store.js';
import { DEFAULT_PREFIX, isSessionKey } from '../src/store.js';
import { KvSessionError, storeClosed } from '../src/errors.js';
import { withTimeout } from '../src/guarded-store.js';
import { loadDriver } from './driver.js';
import type { EventEmitter } from 'node:events';
import type { RedisDriver, RedisTarget, RedisTlsOptions } from './redis-config.js';
export type { RedisTlsOptions } from './redis-config.js';
import { buildConnection, checkTls, parseRedisUrl } from './redis-config.js';
import type { NodeRedisClient, RedisBackend } from './redis-backend.js';
import { redisBackend } from './redis-backend.js';

/** Options of the Redis store. */
export interface RedisStoreOptions extends StoreOptions {
  /**
   * `redis://[user:password@]host:port/db`, `redis-cluster://host:port,host:port`,
   * `redis-sentinel://host:port,host:port/mastername[/db]`, or the TLS forms `rediss://`,
   * `rediss-cluster://`, `rediss-sentinel://`. Not with `client`. @default 'redis://127.0.0.1:6379'
   */
  url?: string;
  /**
   * A node-redis v5 client, cluster or sentinel the app built (createClient, createCluster,
   * createSentinel). The store connects it if the app has not, and close() leaves it open: the app owns it.
   */
  client?: RedisConnection;
  /** CA, client certificate and servername for the TLS URL forms (mutual TLS with `cert` and `key`). */
  tls?: RedisTlsOptions;
}

/** Any node-redis v5 connection: a client, a cluster or a sentinel. */
export interface RedisConnection {
  readonly isOpen: boolean;
  connect(): Promise<unknown>;
  sendCommand(...args: never[]): Promise<unknown>;
}

// Values are compared as raw strings inside Lua, never decoded with cjson
// (which turns [] into {} and rounds big integers).
const UPDATE = script(`if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
return 1`);

/** A session store on Redis (standalone, Cluster or Sentinel): plain-string values, native expiry, atomic create/update/touch. */
export class RedisStore implements SessionStore {
  readonly name = 'redis';
  readonly prefix: string;
  readonly capabilities = { atomic: true, nativeExpiry: true } as const;
  readonly #target: RedisTarget | undefined;
  readonly #tls: RedisTlsOptions | undefined;
  readonly #given: RedisConnection | undefined;
  readonly #timeout: number;
  readonly #inflight = new Set<Promise<unknown>>();
  #backend: Promise<RedisBackend> | undefined;
  #raw: RedisBackend | undefined;
  /** The backend once a command has found it ready; #run checks it is still ready before each use. */
  #connected: RedisBackend | undefined;
  #closed = false;

  /** Validates the options; the driver is loaded and the connection opened on first use. */
  constructor(options: RedisStoreOptions = {}) {
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.#timeout = options.timeout ?? 2000;
    if (!(this.#timeout > 0 && Number.isFinite(this.#timeout))) {
      throw new KvSessionError(
        'ERR_KVSESSION_BAD_OPTION',
        `the redis store timeout must be a positive number of ms, got ${String(this.#timeout)}`,
      );
    }
    if (options.client !== undefined) {
      if (options.url !== undefined || options.tls !== undefined) {
        throw new KvSessionError(
          'ERR_KVSESSION_BAD_OPTION',
          'the redis store takes either `client` or `url`/`tls`, not both: the app configures its own client',
        );
      }
      if (
        typeof options.client !== 'object' ||
        options.client === null ||
        typeof options.client.sendCommand !== 'function'
      ) {
        const why = 'the redis store `client` must be a node-redis v5 client, cluster or sentinel';
        throw new KvSessionError('ERR_KVSESSION_BAD_OPTION', why);
      }
      this.#given = options.client;
    } else {
      this.#target = parseRedisUrl(options.url ?? 'redis://127.0.0.1:6379');
      checkTls(this.#target, options.tls);
      this.#tls = options.tls;
    }
  }

  async get(key: string): Promise<StoreEntry | undefined> {
    const full = this.prefix + key;
    // Two plain commands, pipelined into one write and one round trip (both keys are one slot on a
    // cluster): half the Redis CPU of a Lua script. Not atomic, and need not be: a record deleted
    // in between answers -2 (gone), and an expiry moved in between is the newer one; a stale value
    // only makes a later update's compare-and-set fail and re-read.
    const [value, pexpiretime] = await this.#run('get', (redis) =>
      Promise.all([redis.send(full, ['GET', full]), redis.send(full, ['PEXPIRETIME', full])]),
    );
    if (typeof value !== 'string' || typeof pexpiretime !== 'number' || pexpiretime === -2)
      return undefined;
    // -1: no expiry at all (written by someone else). Redis keeps a key until now > PXAT; we
    // treat it as gone at now >= expiresAt, as the contract says.
    const expiresAt = pexpiretime < 0 ? Number.POSITIVE_INFINITY : pexpiretime;
    return expiresAt > Date.now() ? { value, expiresAt } : undefined;
  }

  async create(key: string, value: string, expiresAt: number): Promise<boolean> {
    // A deadline already passed makes SET … NX PXAT answer OK without storing anything.
    const reply = await this.#send('create', [
      'SET',
      this.prefix + key,
      value,
      'NX',
      'PXAT',
      pxat(expiresAt),
    ]);
    return reply === 'OK';
  }

  async update(key: string, expected: string, value: string, expiresAt: number): Promise<boolean> {
    return (
      (await this.#eval('update', UPDATE, this.prefix + key, expected, value, pxat(expiresAt))) ===
      1
    );
  }

  async touch(key: string, expiresAt: number): Promise<boolean> {
    // PEXPIREAT never creates a key; a past deadline deletes it and still answers 1 (accepted).
    return (await this.#send('touch', ['PEXPIREAT', this.prefix + key, pxat(expiresAt)])) === 1;
  }

  async delete(key: string): Promise<boolean> {
    return (await this.#send('delete', ['DEL', this.prefix + key])) === 1;
  }

  async prune(): Promise<number> {
    this.#assertOpen();
    return 0; // Redis expires keys by itself, on every master.
  }

  async count(): Promise<number> {
    // SCAN may return a key twice while Redis resizes its table, hence the Set.
    const sessions = new Set<string>();
    for await (const keys of this.#scan('count')) {
      for (const key of keys) if (isSessionKey(key, this.prefix.length)) sessions.add(key);
    }
    return sessions.size;
  }

  async clear(): Promise<void> {
    for await (const keys of this.#scan('clear')) {
      if (keys.length > 0) await this.#run('clear', (redis) => redis.unlink(keys));
    }
  }

  /** Imports the driver and connects ahead of the first command; failures surface on that command. */
  async warm(): Promise<void> {
    if (this.#closed) return;
    await (this.#backend ??= this.#connect());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Operations are bounded by the timeout, so waiting for them is bounded too. The backend is
    // taken from #raw, not #backend: a first connection stuck on a stalled server never settles.
    await Promise.allSettled([...this.#inflight]);
    await this.#raw?.close().catch(() => undefined);
  }

  /** Yields the keys under this prefix, one SCAN batch at a time and every master in turn; each batch has its own time bound. */
  async *#scan(what: string): AsyncGenerator<string[]> {
    const pattern = `${this.prefix.replace(/[\\*?[\]]/g, '\\$&')}*`;
    const masters = await this.#run(what, (redis) => redis.masters());
    for (const master of masters) {
      let cursor = '0';
      do {
        const scan = ['SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000'];
        const [next, keys] = (await this.#run(what, () => master(scan))) as [string, string[]];
        cursor = next;
        yield keys;
      } while (cursor !== '0');
    }
  }

  /** Runs a script by its hash, sending its text only when the server lacks it (e.g. after a restart or failover). */
  async #eval(what: string, lua: Script, key: string, ...args: string[]): Promise<unknown> {
    return this.#run(what, async (redis) => {
      try {
        return await redis.send(key, ['EVALSHA', lua.sha, '1', key, ...args]);
      } catch (err) {
        // NOSCRIPT is the error code Redis puts first in the reply; there is no other field for it.
        if (!(err instanceof Error && err.message.startsWith('NOSCRIPT'))) throw err;
        return redis.send(key, ['EVAL', lua.source, '1', key, ...args]);
      }
    });
  }

  #send(what: string, args: string[]): Promise<unknown> {
    return this.#run(what, (redis) => redis.send(args[1] as string, args));
  }

  /** One Redis round trip, bounded by the timeout, failing only with coded errors. */
  #run<T>(what: string, op: (redis: RedisBackend) => Promise<T>): Promise<T> {
    this.#assertOpen();
    const connected = this.#connected;
    // Connected and ready (every command after the first): sent at once, without the two awaits
    // and the checks below, which only matter while a connection is being made.
    const pending =
      connected !== undefined && connected.ready
        ? withTimeout(this.name, what, this.#timeout, () => op(connected))
        : this.#runConnecting(what, op);
    // The socket holds the process open only while a command is in flight: an app that never
    // calls close() still exits, yet a script awaiting a reply is never cut short.
    this.#inflight.add(pending);
    if (this.#inflight.size === 1) this.#raw?.ref();
    const forget = (): void => {
      this.#inflight.delete(pending);
      if (this.#inflight.size === 0) this.#raw?.unref();
    };
    pending.then(forget, (err: unknown) => {
      forget();
      // A failure may mean a cluster master died: the next command should use a fresh slot map.
      if (!(err instanceof KvSessionError && err.code === 'ERR_KVSESSION_STORE_CLOSED'))
        this.#raw?.failed();
    });
    return pending;
  }

  /** #run's way while there is no ready connection yet: wait for it (within the timeout), then send. */
  #runConnecting<T>(what: string, op: (redis: RedisBackend) => Promise<T>): Promise<T> {
    const deadline = performance.now() + this.#timeout;
    return withTimeout(this.name, what, this.#timeout, async () => {
      const redis = await (this.#backend ??= this.#connect());
      await redis.open();
      this.#assertOpen();
      // The caller has already been told "timeout": a write sent now would land unannounced.
      if (performance.now() >= deadline)
        throw new Error('gave up waiting for the first connection');
      if (!redis.ready) {
        // node-redis would reject with a bare "client is offline"; the connection error says why.
        const why = redis.lastError instanceof Error ? redis.lastError.message : 'not connected';
        throw new KvSessionError(
          'ERR_KVSESSION_STORE_UNAVAILABLE',
          `the redis store is unreachable during ${what}: ${why}`,
          {
            status: 503,
            cause: redis.lastError,
          },
        );
      }
      this.#connected = redis;
      return op(redis);
    });
  }

  /** Wraps the app's connection, or builds ours and waits for its first connection attempt, whatever its outcome. */
  async #connect(): Promise<RedisBackend> {
    if (this.#given !== undefined)
      return (this.#raw = redisBackend(this.#given as unknown as NodeRedisClient, false));
    const target = this.#target as RedisTarget;
    const driver = await loadDriver<RedisDriver>('@keyv/redis', 'redis');
    this.#assertOpen();
    const conn = buildConnection(driver, target, this.#tls, this.#timeout) as NodeRedisClient;
    const backend = (this.#raw = redisBackend(conn, true));
    // Connected ahead of any command (warm()): the socket must not hold the process open.
    if (this.#inflight.size === 0) backend.unref();
    // A client's open() ends with its first attempt; a cluster or sentinel connect() settles by itself
    // (if it failed the next command retries), but its first error already says the wait is over.
    const firstError = new Promise<void>((resolve) =>
      (conn as unknown as EventEmitter).once('error', () => resolve()),
    );
    await Promise.race([firstError, backend.open().catch(() => undefined)]);
    // A cluster's node clients exist only once slots are discovered.
    if (this.#inflight.size === 0) backend.unref();
    return backend;
  }

  #assertOpen(): void {
    if (this.#closed) throw storeClosed(this.name);
  }
}

/** Creates a Redis store from any Redis URL form or an options object (`url`, `client`, `tls`); connects on first use. */
export function createRedisStore(options: string | RedisStoreOptions = {}): RedisStore {
  return new RedisStore(typeof options === 'string' ? { url: options } : options);
}

type Script = { readonly source: string; readonly sha: string };

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

// Redis wants a positive integer; 1 (1970) is as past as any earlier deadline.
function pxat(expiresAt: number): string {
  if (!Number.isFinite(expiresAt)) {
    throw new KvSessionError(
      'ERR_KVSESSION_BAD_ARGUMENT',
      `expiresAt must be a finite time in ms, got ${String(expiresAt)}`,
    );
  }
  return String(Math.max(1, Math.ceil(expiresAt)));
}
