// For redis-cluster.test.ts: a Redis store (any URL form) warmed, used once and never closed. The
// process must then exit by itself: the store's sockets may not keep it alive while idle.
// The timeout is generous because the point is the exit, not how fast a loaded machine connects.
// Usage: redis-idle-exit.ts <store URL> <prefix>; prints `used <create result>`.
import { createRedisStore } from '../../../stores/redis.js';

const [url, prefix] = process.argv.slice(2) as [string, string];
const store = createRedisStore({ url, prefix, timeout: 15_000 });
await store.warm();
const created = await store.create('k', 'v', Date.now() + 60_000);
await store.delete('k');
process.stdout.write(`used ${String(created)}\n`);
