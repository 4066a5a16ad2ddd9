import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'vitest';
import { REDIS_URL, describeWithServer } from '../helpers/services.js';
import { EXIT_LIMIT_MS, expectExitsByItself, idleUrl } from '../helpers/reliability-idle-exit.js';

/*
 * KNOWN FAILING until stores/redis.ts is fixed (reported to the lead).
 * A process that used a redis:// store once and never called close() never exits: node-redis keeps
 * its socket referenced (and its reconnect timers during an outage). The Postgres store avoids the
 * same trap with pg's allowExitOnIdle. Fix: reference the client only while commands are in flight,
 * e.g. in RedisStore#run count in-flight operations and call client.ref() on 0 → 1 and
 * client.unref() on 1 → 0 (node-redis exposes both). Unref'ing permanently would be wrong: a script
 * whose only pending work is `await store.get()` would then exit before the reply arrives.
 * When fixed, delete this file and 'redis' from KNOWN_KEEPS_ALIVE in leak.test.ts.
 */
const dir = mkdtempSync(join(tmpdir(), 'kvsession-idle-redis-'));
process.once('exit', () => rmSync(dir, { recursive: true, force: true }));

await describeWithServer('background connections on redis', REDIS_URL, () => {
  it('a process that used kvSession once over redis:// and never closed it exits by itself', async () => {
    await expectExitsByItself(idleUrl('redis', dir) as string);
  }, EXIT_LIMIT_MS + 10_000);
});
