import type Keyv from 'keyv';
import type { StoreOptions } from '../src/store.js';
import type { RedisConnection } from './redis.js';
import { RedisStore } from './redis.js';

/** The members of a @keyv/redis adapter (KeyvRedis) we rely on to recognise it and reach its client. */
interface KeyvRedisLike {
  readonly opts: { readonly dialect?: unknown };
  readonly client: RedisConnection;
  getClient(): Promise<unknown>;
}

/**
 * A Redis store that runs on the node-redis client of a Keyv over @keyv/redis, with the same atomic
 * commands and Lua compare-and-set as a `redis://` store. Keyv's own get/set would be read-then-write
 * (4 processes lost 47% of acknowledged keys that way). close() disconnects the Keyv, as closing a
 * Keyv store always did: the Keyv was handed over as the store.
 */
export class KeyvRedisStore extends RedisStore {
  readonly #keyv: Keyv;

  /** Uses `keyv`'s adapter client; sessions live at `prefix + key`, outside the Keyv's namespace. */
  constructor(keyv: Keyv, options: StoreOptions = {}) {
    super({ ...options, client: (keyv.store as KeyvRedisLike).client });
    this.#keyv = keyv;
  }

  override async close(): Promise<void> {
    await super.close();
    await this.#keyv.disconnect().catch(() => undefined);
  }
}

/** True when `keyv` sits on @keyv/redis (its adapter reports the redis dialect and has a node-redis client). */
export function isKeyvRedis(keyv: Keyv): boolean {
  const adapter = keyv.store as Partial<KeyvRedisLike> | null | undefined;
  return (
    typeof adapter === 'object' &&
    adapter !== null &&
    adapter.opts?.dialect === 'redis' &&
    typeof adapter.getClient === 'function' &&
    typeof adapter.client?.sendCommand === 'function'
  );
}
