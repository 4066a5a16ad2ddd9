import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../cli/index.js';
import { createRedisStore } from '../stores/redis.js';
import { TEST_SECRET, startApp } from './helpers/app.js';
import { mountUserRoutes } from './helpers/user-sessions-helpers.js';
import { REDIS_URL, describeWithServer, randomPrefix } from './helpers/services.js';

const saved = process.env['KVSESSION_SECRET'];
afterEach(() => {
  if (saved === undefined) delete process.env['KVSESSION_SECRET'];
  else process.env['KVSESSION_SECRET'] = saved;
});

async function cli(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await runCli(args, {
    out: (t) => (stdout += t + '\n'),
    err: (t) => (stderr += t + '\n'),
  });
  return { status, stdout, stderr };
}

// A store shared between the app and the CLI, as in production: Redis.
await describeWithServer('CLI with sealRecords (redis)', REDIS_URL, () => {
  describe('user-sessions / logout-user --sealed', () => {
    it('finds and ends a sealed user index with the secret from KVSESSION_SECRET', async () => {
      const prefix = randomPrefix('cli-sealed');
      const store = createRedisStore({ url: REDIS_URL, prefix });
      const app = await startApp({
        session: { store, sealRecords: true },
        routes: (e) => mountUserRoutes(e, () => app.sessions),
      });
      const device = app.client();
      expect((await device.post('/login?user=carol')).status).toBe(200);
      const common = ['--store', REDIS_URL, '--prefix', prefix, '--user', 'carol'];
      process.env['KVSESSION_SECRET'] =
        `another-secret-that-is-long-enough-0123456789,${TEST_SECRET}`;
      // Without --sealed the CLI looks for the plain index, which a sealed app never writes.
      expect(await cli('user-sessions', ...common, '--json')).toEqual({
        status: 0,
        stdout: '[]\n',
        stderr: '',
      });
      const listed = await cli('user-sessions', ...common, '--sealed', '--json');
      expect(listed.status).toBe(0);
      expect(JSON.parse(listed.stdout)).toHaveLength(1);
      expect(listed.stdout + listed.stderr).not.toContain(TEST_SECRET);
      expect(await cli('logout-user', ...common, '--sealed')).toEqual({
        status: 0,
        stdout: '1\n',
        stderr: '',
      });
      expect((await device.get('/me')).json()).toEqual({ userId: null, handle: null });
      await store.clear();
    });

    it('--sealed without a valid KVSESSION_SECRET is a usage error (exit 2) that shows no secret', async () => {
      delete process.env['KVSESSION_SECRET'];
      // The secret is checked before the store is asked: the Redis URL only makes the command valid.
      const missing = await cli('logout-user', '--store', REDIS_URL, '--user', 'carol', '--sealed');
      expect(missing.status).toBe(2);
      expect(missing.stderr).toMatch(/^kvsession: ERR_KVSESSION_NO_SECRET: /);
      process.env['KVSESSION_SECRET'] = 'short-Zx9q';
      const weak = await cli('logout-user', '--store', REDIS_URL, '--user', 'carol', '--sealed');
      expect(weak.status).toBe(2);
      expect(weak.stderr).toMatch(/^kvsession: ERR_KVSESSION_WEAK_SECRET: /);
      expect(weak.stderr).not.toContain('Zx9q');
    });
  });
});
