import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCluster } from 'redis';
import Keyv from 'keyv';
import KeyvRedis from '@keyv/redis';
import { runStoreConformance } from '../../conformance/index.js';
import { createRedisStore } from '../../stores/redis.js';
import { resolveStore } from '../../stores/index.js';
import type { FullSessionStore } from '../../src/store.js';
import type { Topology } from '../helpers/redis-topologies.js';
import { clusterMasters, redisCli, startCluster } from '../helpers/redis-topologies.js';
import { randomPrefix } from '../helpers/services.js';
import { EXIT_LIMIT_MS } from '../reliability/helpers/idle-exit.js';
import { collect, startFromSource } from '../e2e/from-source.js';

// Our own 6-node cluster (3 masters + 3 replicas) on ports 7001-7006, stopped in afterAll.
const PORTS = [7001, 7002, 7003, 7004, 7005, 7006];
const HOUR = 3_600_000;
let cluster: Topology;
// A cluster the "app" built and connected itself; every store below borrows it and must leave it open.
const appCluster = createCluster({
  rootNodes: PORTS.slice(0, 3).map((port) => ({ socket: { host: '127.0.0.1', port } })),
});
appCluster.on('error', () => undefined);

beforeAll(async () => {
  cluster = await startCluster(PORTS, 3000);
  await appCluster.connect();
}, 60_000);
afterAll(async () => {
  if (appCluster.isOpen) appCluster.destroy();
  await cluster?.stop();
});

// Warmed first, as kvSession() does at start-up: slot discovery plus six connections would eat
// into the sub-second deadlines of the expiry tests on a loaded machine.
describe('redis store on a 6-node cluster, by redis-cluster:// URL', () => {
  runStoreConformance(it, async ({ prefix }) => {
    const store = createRedisStore({ url: cluster.url, prefix });
    await store.warm();
    return store;
  });
});

describe('redis store on a cluster the app built (createRedisStore({ client }))', () => {
  runStoreConformance(it, ({ prefix }) => createRedisStore({ client: appCluster, prefix }));
});

// The Keyv escape hatch: a fresh cluster inside a Keyv per store (KeyvRedis builds it from
// rootNodes), resolved as kvSession() does.
// It must be atomic (concurrency groups on) and its first commands must wait for slot discovery.
describe('a Keyv over @keyv/redis on a cluster, resolved as the store', () => {
  runStoreConformance(it, ({ prefix }) => {
    const nodes = PORTS.slice(0, 3).map((port) => ({ socket: { host: '127.0.0.1', port } }));
    return resolveStore(new Keyv(new KeyvRedis({ rootNodes: nodes })), { prefix });
  });
});

describe('redis store on a cluster: every master', () => {
  const keys = Array.from({ length: 60 }, () => randomBytes(16).toString('base64url'));

  async function keysPerMaster(prefix: string): Promise<number[]> {
    const masters = await clusterMasters(PORTS[0] as number);
    const keysOn = async (port: number): Promise<number> =>
      (await redisCli(port, '--scan', '--pattern', `${prefix}*`)).split('\n').filter(Boolean)
        .length;
    const counts = await Promise.all(masters.map(({ port }) => keysOn(port)));
    return counts.sort();
  }

  it('count() counts the sessions of all three masters and clear() deletes them on every master, without CROSSSLOT', async () => {
    const prefix = randomPrefix('cluster');
    const store: FullSessionStore = createRedisStore({ url: cluster.url, prefix });
    try {
      for (const key of keys) expect(await store.create(key, 'v', Date.now() + HOUR)).toBe(true);
      await store.create('user:' + keys[0], '{}', Date.now() + HOUR);
      const spread = await keysPerMaster(prefix);
      // 60 random keys over 3 masters: each holds some (a node with none would not prove the point).
      expect(spread.length).toBe(3);
      expect(spread.every((n) => n > 0)).toBe(true);
      expect(await store.count()).toBe(keys.length);
      await store.clear();
      expect(await keysPerMaster(prefix)).toEqual([0, 0, 0]);
      expect(await store.count()).toBe(0);
    } finally {
      await store.close();
    }
  });

  it("close() on a store given the app's cluster leaves that cluster open and working", async () => {
    const store = createRedisStore({ client: appCluster, prefix: randomPrefix('cluster') });
    const key = randomBytes(16).toString('base64url');
    expect(await store.create(key, 'v', Date.now() + HOUR)).toBe(true);
    await store.clear();
    await store.close();
    expect(appCluster.isOpen).toBe(true);
    expect(await appCluster.sendCommand(key, false, ['PING'])).toBe('PONG');
    await expect(store.get(key)).rejects.toMatchObject({ code: 'ERR_KVSESSION_STORE_CLOSED' });
  });

  it('a process on a redis-cluster:// store that never calls close() exits by itself (idle sockets unreferenced)', async () => {
    const child = startFromSource('test/reliability/children/redis-idle-exit.ts', [
      cluster.url,
      randomPrefix('idle'),
    ]);
    expect(await collect(child, EXIT_LIMIT_MS * 2)).toMatchObject({
      status: 0,
      signal: null,
      stdout: 'used true\n',
      stderr: '',
    });
  }, 60_000);

  it('an app cluster not yet connected is connected on first use; 20 simultaneous first commands all succeed', async () => {
    const unconnected = createCluster({
      rootNodes: [{ socket: { host: '127.0.0.1', port: PORTS[1] as number } }],
    });
    unconnected.on('error', () => undefined);
    const store = createRedisStore({ client: unconnected, prefix: randomPrefix('cluster') });
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.create(`k${i}`, 'v', Date.now() + HOUR)),
      );
      expect(results).toEqual(Array(20).fill(true));
      expect(await store.count()).toBe(20);
      await store.clear();
    } finally {
      await store.close();
      unconnected.destroy();
    }
  });
});
