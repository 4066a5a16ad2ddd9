import { afterAll, describe, expect, it } from 'vitest';
import type { Topology } from '../helpers/redis-topologies.js';
import { startCluster, waitFor } from '../helpers/redis-topologies.js';
import type { AppProcesses, Traffic } from '../helpers/failover-traffic.js';
import { sleep, startApps, startTraffic } from '../helpers/failover-traffic.js';
import { randomPrefix } from '../helpers/services.js';

/*
 * The Keyv escape hatch lost 47% of acknowledged keys with 4 processes writing one session
 * at once. Here 4 processes share one cluster (ports 7061-7066) and one prefix: two reach it by
 * redis-cluster:// URL, two through a Keyv over @keyv/redis, and 8 browsers each run 4 overlapping
 * writers into their one session, round-robin over the processes.
 */
const BROWSERS = 8;
const WRITERS = 4;
const KEYV_APP = 'test/reliability/children/keyv-redis-app.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('Redis Cluster shared by URL and Keyv processes, overlapping writes', () => {
  it('no key answered 200 is lost, and the Keyv processes answered 200 too', async () => {
    const cluster: Topology = await startCluster([7061, 7062, 7063, 7064, 7065, 7066], 3000);
    cleanups.push(() => cluster.stop());
    const prefix = randomPrefix('overlap');
    const apps: AppProcesses[] = await Promise.all([
      startApps(cluster.url, prefix, 2),
      startApps(cluster.url, prefix, 2, KEYV_APP),
    ]);
    for (const app of apps) cleanups.push(() => app.stop());
    const urls = apps.flatMap((app) => app.urls);
    const traffic: Traffic = startTraffic(urls, BROWSERS, WRITERS);
    cleanups.push(() => traffic.stop());
    const saved = (): number => traffic.attempts.filter((a) => a.status === 200).length;
    await waitFor(
      'the browsers to save 20 keys each',
      async () => saved() >= BROWSERS * 20,
      30_000,
    );
    await sleep(5000);
    await traffic.stop();

    const ok = traffic.attempts.filter((a) => a.status === 200).length;
    const failed = traffic.attempts.length - ok;
    const share = ((100 * failed) / traffic.attempts.length).toFixed(2);
    console.log(
      `overlap: ${traffic.attempts.length} writes over 4 processes, ${failed} not 200 (${share}%)`,
    );
    expect(await traffic.lost()).toEqual(new Map());
    // urls[2] and urls[3] are the Keyv processes: they must have served writes, not just failed them.
    expect(traffic.attempts.filter((a) => a.status === 200 && a.app >= 2).length).toBeGreaterThan(
      BROWSERS * 5,
    );
  }, 120_000);
});
