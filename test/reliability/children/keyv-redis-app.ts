// One app process whose store is a Keyv over @keyv/redis on a Redis Cluster, the way an app using
// Keyv elsewhere would pass it: kvSession({ store: new Keyv(new KeyvRedis({ rootNodes })) }).
// Usage: keyv-redis-app.ts <redis-cluster:// URL> <prefix>; the secret comes from KVSESSION_TEST_SECRET.
// Prints `listening <port>` once it accepts connections; runs until killed.
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import Keyv from 'keyv';
import KeyvRedis from '@keyv/redis';
import { kvSession } from '../../../src/index.js';
import { mountSessionRoutes } from '../../helpers/routes.js';

const [url, prefix] = process.argv.slice(2) as [string, string];
const rootNodes = url
  .replace(/^redis-cluster:\/\//, '')
  .split(',')
  .map((node) => ({ url: `redis://${node}` }));
const app = express();
const store = new Keyv(new KeyvRedis({ rootNodes }));
app.use(
  kvSession({ secret: process.env['KVSESSION_TEST_SECRET'], store, prefix, pruneInterval: false }),
);
mountSessionRoutes(app);
app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
  const { code, status } = err as { code?: unknown; status?: unknown };
  res
    .status(typeof status === 'number' ? status : 500)
    .json({ code: typeof code === 'string' ? code : 'UNKNOWN' });
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(
    `listening ${typeof address === 'object' && address !== null ? address.port : 0}\n`,
  );
});
