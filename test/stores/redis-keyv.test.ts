import { describe, expect, it } from 'vitest';
import Keyv from 'keyv';
import KeyvRedis from '@keyv/redis';
import { runStoreConformance } from '../../conformance/index.js';
import { resolveStore } from '../../stores/index.js';
import {
  CONFORMANCE_PREFIX,
  REDIS_URL,
  describeWithServer,
  randomPrefix,
} from '../helpers/services.js';

// A Keyv over @keyv/redis handed to kvSession({ store }) goes through resolveStore: it must come out
// as the atomic Redis store on the adapter's own client, so the concurrency groups run too.
await describeWithServer('a Keyv over @keyv/redis, resolved as the store', REDIS_URL, () => {
  runStoreConformance(
    it,
    ({ prefix }) => resolveStore(new Keyv(new KeyvRedis(REDIS_URL)), { prefix }),
    { prefix: CONFORMANCE_PREFIX },
  );

  it('resolveStore(new Keyv(new KeyvRedis(url))) is the atomic redis store; a Keyv over a Map stays the keyv store', async () => {
    const redis = resolveStore(new Keyv(new KeyvRedis(REDIS_URL)), {
      prefix: randomPrefix('keyv'),
    });
    const map = resolveStore(new Keyv({ store: new Map() }), { prefix: randomPrefix('keyv') });
    expect([redis.name, redis.capabilities.atomic, map.name, map.capabilities.atomic]).toEqual([
      'redis',
      true,
      'keyv',
      false,
    ]);
    await Promise.all([redis.close(), map.close()]);
  });

  it("sessions are written with the Redis store's own commands: a plain string with a native expiry, not a Keyv envelope", async () => {
    const prefix = randomPrefix('keyv');
    const adapter = new KeyvRedis(REDIS_URL);
    const store = resolveStore(new Keyv(adapter), { prefix });
    const expiresAt = Date.now() + 60_000;
    expect(await store.create('k', 'value', expiresAt)).toBe(true);
    // A plain client here (the adapter was built from a URL); its type is the union of all three kinds.
    const client = (await adapter.getClient()) as unknown as {
      sendCommand(args: string[]): Promise<unknown>;
    };
    expect(await client.sendCommand(['GET', `${prefix}k`])).toBe('value');
    expect(await client.sendCommand(['PEXPIRETIME', `${prefix}k`])).toBe(expiresAt);
    await store.clear?.();
    await store.close();
  });

  it('close() disconnects the Keyv it was given, as closing a Keyv store always did', async () => {
    const adapter = new KeyvRedis(REDIS_URL);
    const store = resolveStore(new Keyv(adapter), { prefix: randomPrefix('keyv') });
    await store.get('k');
    expect(adapter.client.isOpen).toBe(true);
    await store.close();
    expect(adapter.client.isOpen).toBe(false);
  });
});

describe('a Keyv over @keyv/redis with Redis unreachable', () => {
  it('fails with a store code within the timeout instead of hanging or reading "no session"', async () => {
    const store = resolveStore(new Keyv(new KeyvRedis('redis://127.0.0.1:1')), {
      prefix: randomPrefix('keyv'),
      timeout: 500,
    });
    await expect(store.get('k')).rejects.toMatchObject({
      code: expect.stringMatching(/^ERR_KVSESSION_STORE_(UNAVAILABLE|TIMEOUT)$/),
    });
    await store.close();
  });
});
