import { createHash } from 'node:crypto';
import type { SessionStore, StoreEntry, StoreOptions } from '../src/store.js';
import { DEFAULT_PREFIX, isSessionKey } from '../src/store.js';
import { KvSessionError, storeClosed } from '../src/errors.js';
import { withTimeout } from '../src/guarded-store.js';
import { loadDriver } from './driver.js';

/** Options of the Redis store (`redis://` and `rediss://` URLs). */
export interface RedisStoreOptions extends StoreOptions {
  /** `redis://[user:password@]host:port/db`, or `rediss://…` for TLS. @default 'redis://127.0.0.1:6379' */
  url?: string;
}

// The few members of node-redis's client we use; its generic types are far wider than we need.
interface RedisClient {
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  sendCommand(args: string[]): Promise<unknown>;
  on(event: 'error', listener: (err: unknown) => void): unknown;
  once(event: 'ready' | 'error', listener: () => void): unknown;
  destroy(): void;
  ref(): void;
  unref(): void;
}
type RedisDriver = { createClient(options: object): unknown };

// Values are compared as raw strings inside Lua, never decoded with cjson
// (which turns [] into {} and rounds big integers).
const UPDATE = script(`if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
return 1`);

/** A session store on Redis: plain-string values, native expiry, atomic create/update/touch. */
export class RedisStore implements SessionStore {
  readonly name = 'redis';
  readonly prefix: string;
  readonly capabilities = { atomic: true, nativeExpiry: true } as const;
  readonly #url: string;
  readonly #timeout: number;
  readonly #inflight = new Set<Promise<unknown>>();
  #client: Promise<RedisClient> | undefined;
  #raw: RedisClient | undefined;
  #lastError: unknown;
  #closed = false;

  /** Validates the options; the driver is loaded and the connection opened on first use. */
  constructor(options: RedisStoreOptions = {}) {
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.#url = checkUrl(options.url ?? 'redis://127.0.0.1:6379');
    this.#timeout = options.timeout ?? 2000;
    if (!(this.#timeout > 0 && Number.isFinite(this.#timeout))) {
      throw new KvSessionError('ERR_KVSESSION_BAD_OPTION', `the redis store timeout must be a positive number of ms, got ${String(this.#timeout)}`);
    }
  }

  async get(key: string): Promise<StoreEntry | undefined> {
    const full = this.prefix + key;
    // Two plain commands, pipelined into one write and one round trip: half the Redis CPU of a
    // Lua script. Not atomic, and need not be: a record deleted in between answers -2 (gone), and
    // an expiry moved in between is the newer one; a stale value only makes a later update's
    // compare-and-set fail and re-read.
    const [value, pexpiretime] = await this.#run('get', (client) =>
      Promise.all([client.sendCommand(['GET', full]), client.sendCommand(['PEXPIRETIME', full])]),
    );
    if (typeof value !== 'string' || typeof pexpiretime !== 'number' || pexpiretime === -2) return undefined;
    // -1: no expiry at all (written by someone else). Redis keeps a key until now > PXAT; we
    // treat it as gone at now >= expiresAt, as the contract says.
    const expiresAt = pexpiretime < 0 ? Number.POSITIVE_INFINITY : pexpiretime;
    return expiresAt > Date.now() ? { value, expiresAt } : undefined;
  }

  async create(key: string, value: string, expiresAt: number): Promise<boolean> {
    // A deadline already passed makes SET … NX PXAT answer OK without storing anything.
    const reply = await this.#send('create', ['SET', this.prefix + key, value, 'NX', 'PXAT', pxat(expiresAt)]);
    return reply === 'OK';
  }

  async update(key: string, expected: string, value: string, expiresAt: number): Promise<boolean> {
    return (await this.#eval('update', UPDATE, this.prefix + key, expected, value, pxat(expiresAt))) === 1;
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
    return 0; // Redis expires keys by itself.
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
      if (keys.length > 0) await this.#send('clear', ['UNLINK', ...keys]);
    }
  }

  /** Imports the driver and connects ahead of the first command; failures surface on that command. */
  async warm(): Promise<void> {
    if (this.#closed) return;
    await (this.#client ??= this.#connect());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Operations are bounded by the timeout, so waiting for them is bounded too. The client is
    // taken from #raw, not #client: a first connection stuck on a stalled server never settles.
    await Promise.allSettled([...this.#inflight]);
    try {
      this.#raw?.destroy();
    } catch {
      // already closed
    }
  }

  /** Yields the keys under this prefix, one SCAN batch at a time; each batch has its own time bound. */
  async *#scan(what: string): AsyncGenerator<string[]> {
    const pattern = `${this.prefix.replace(/[\\*?[\]]/g, '\\$&')}*`;
    let cursor = '0';
    do {
      const [next, keys] = (await this.#send(what, ['SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000'])) as [string, string[]];
      cursor = next;
      yield keys;
    } while (cursor !== '0');
  }

  /** Runs a script by its hash, sending its text only when the server lacks it (e.g. after a restart). */
  async #eval(what: string, lua: Script, key: string, ...args: string[]): Promise<unknown> {
    return this.#run(what, async (client) => {
      try {
        return await client.sendCommand(['EVALSHA', lua.sha, '1', key, ...args]);
      } catch (err) {
        // NOSCRIPT is the error code Redis puts first in the reply; there is no other field for it.
        if (!(err instanceof Error && err.message.startsWith('NOSCRIPT'))) throw err;
        return client.sendCommand(['EVAL', lua.source, '1', key, ...args]);
      }
    });
  }

  #send(what: string, args: string[]): Promise<unknown> {
    return this.#run(what, (client) => client.sendCommand(args));
  }

  /** One Redis round trip, bounded by the timeout, failing only with coded errors. */
  #run<T>(what: string, op: (client: RedisClient) => Promise<T>): Promise<T> {
    this.#assertOpen();
    const deadline = performance.now() + this.#timeout;
    const pending = withTimeout(this.name, what, this.#timeout, async () => {
      const client = await (this.#client ??= this.#connect());
      this.#assertOpen();
      // The caller has already been told "timeout": a write sent now would land unannounced.
      if (performance.now() >= deadline) throw new Error('gave up waiting for the first connection');
      if (!client.isReady) {
        // node-redis would reject with a bare "client is offline"; the connection error says why.
        const why = this.#lastError instanceof Error ? this.#lastError.message : 'not connected';
        throw new KvSessionError('ERR_KVSESSION_STORE_UNAVAILABLE', `the redis store is unreachable during ${what}: ${why}`, {
          status: 503,
          cause: this.#lastError,
        });
      }
      return op(client);
    });
    // The socket holds the process open only while a command is in flight: an app that never
    // calls close() still exits, yet a script awaiting a reply is never cut short.
    this.#inflight.add(pending);
    if (this.#inflight.size === 1) this.#raw?.ref();
    const forget = (): void => {
      this.#inflight.delete(pending);
      if (this.#inflight.size === 0) this.#raw?.unref();
    };
    pending.then(forget, forget);
    return pending;
  }

  /** Creates the client and waits for its first connection attempt, whatever its outcome. */
  async #connect(): Promise<RedisClient> {
    const driver = await loadDriver<RedisDriver>('@keyv/redis', 'redis');
    this.#assertOpen();
    const client = driver.createClient({
      url: this.#url,
      // Commands issued while disconnected fail at once instead of queueing for the whole outage;
      // the queue cap bounds what a stalled (connected but silent) server can pile up.
      disableOfflineQueue: true,
      commandsQueueMaxLength: 10_000,
      socket: {
        connectTimeout: this.#timeout,
        // Keep retrying in the background for ever, so the store heals by itself when Redis returns.
        reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1000) + Math.floor(Math.random() * 50),
      },
    }) as RedisClient;
    this.#raw = client;
    // Connected ahead of any command (warm()): the socket must not hold the process open.
    if (this.#inflight.size === 0) client.unref();
    // Without a listener, node-redis's error events would crash the process.
    client.on('error', (err) => {
      this.#lastError = err;
    });
    const firstAttempt = new Promise<void>((resolve) => {
      client.once('ready', resolve);
      client.once('error', resolve);
    });
    client.connect().catch((err: unknown) => {
      this.#lastError = err;
    });
    await firstAttempt;
    return client;
  }

  #assertOpen(): void {
    if (this.#closed) throw storeClosed(this.name);
  }
}

/** Creates a Redis store from a `redis://`/`rediss://` URL or an options object; connects on first use. */
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
    throw new KvSessionError('ERR_KVSESSION_BAD_ARGUMENT', `expiresAt must be a finite time in ms, got ${String(expiresAt)}`);
  }
  return String(Math.max(1, Math.ceil(expiresAt)));
}

function checkUrl(url: string): string {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (parsed === undefined || (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') || !/^\/?\d*$/.test(parsed.pathname)) {
    throw new KvSessionError(
      'ERR_KVSESSION_BAD_STORE_URL',
      `${JSON.stringify(url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@'))} is not a Redis URL; expected redis://[user:password@]host:port/db or rediss://… for TLS`,
    );
  }
  return url;
}
