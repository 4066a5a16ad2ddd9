import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSentinel } from 'redis';
import { runStoreConformance } from '../../conformance/index.js';
import { createRedisStore } from '../../stores/redis.js';
import type { Topology } from '../helpers/redis-topologies.js';
import { SENTINEL_MASTER, redisCli, startSentinelSet } from '../helpers/redis-topologies.js';
import { randomPrefix } from '../helpers/services.js';

// Our own Sentinel set on ports 7011-7015: master, replica, three sentinels; stopped in afterAll.
const PORTS = [7011, 7012, 7013, 7014, 7015];
const HOUR = 3_600_000;
let set: Topology;
// A sentinel client the "app" built and connected itself; every store below borrows it.
const sentinelRootNodes = PORTS.slice(2).map((port) => ({ host: '127.0.0.1', port }));
const appSentinel = createSentinel({ name: SENTINEL_MASTER, sentinelRootNodes });
appSentinel.on('error', () => undefined);

beforeAll(async () => {
  set = await startSentinelSet(PORTS);
  await appSentinel.connect();
}, 60_000);
afterAll(async () => {
  if (appSentinel.isOpen) await appSentinel.destroy();
  await set?.stop();
});

// Warmed first, as kvSession() does at start-up: a Sentinel connection takes 0.3-1.9 s to set up
// here (node-redis asks a sentinel, then connects to the master), which would eat into the
// sub-second deadlines of the expiry tests.
describe('redis store behind Sentinel, by redis-sentinel:// URL', () => {
  runStoreConformance(it, async ({ prefix }) => {
    const store = createRedisStore({ url: set.url, prefix });
    await store.warm();
    return store;
  });
});

describe('redis store on a sentinel client the app built (createRedisStore({ client }))', () => {
  runStoreConformance(it, ({ prefix }) => createRedisStore({ client: appSentinel, prefix }));
});

describe('redis store behind Sentinel: where the data goes', () => {
  it("writes land on the master Sentinel names and reach its replica; close() leaves the app's sentinel open", async () => {
    const prefix = randomPrefix('sentinel');
    const store = createRedisStore({ client: appSentinel, prefix });
    const key = randomBytes(16).toString('base64url');
    expect(await store.create(key, 'v', Date.now() + HOUR)).toBe(true);
    expect((await redisCli(PORTS[0] as number, 'GET', prefix + key)).trim()).toBe('v');
    await redisCli(PORTS[0] as number, 'WAIT', '1', '2000');
    expect((await redisCli(PORTS[1] as number, 'GET', prefix + key)).trim()).toBe('v');
    await store.clear();
    await store.close();
    expect(appSentinel.isOpen).toBe(true);
    expect(await appSentinel.sendCommand(false, ['PING'])).toBe('PONG');
  });

  it('a redis-sentinel:// URL with a database number selects that database', async () => {
    const prefix = randomPrefix('sentinel');
    const store = createRedisStore({ url: `${set.url}/3`, prefix });
    try {
      const key = randomBytes(16).toString('base64url');
      expect(await store.create(key, 'v', Date.now() + HOUR)).toBe(true);
      expect((await redisCli(PORTS[0] as number, '-n', '3', 'GET', prefix + key)).trim()).toBe('v');
      expect((await redisCli(PORTS[0] as number, '-n', '0', 'EXISTS', prefix + key)).trim()).toBe(
        '0',
      );
      await store.clear();
    } finally {
      await store.close();
    }
  });
});
