// One app process whose store is a Keyv over @keyv/redis on a Redis Cluster, the way an app using
// Keyv elsewhere would pass it: kvSession({ store: new Keyv(new KeyvRedis({ rootNodes })) }).
// Usage: keyv-redis-app.ts <redis-cluster:// URL> <prefix>; the secret comes from KVSESSION_TEST_SECRET.
// Prints `listening <port>` once it accepts connections; runs until killed.
import express from 'express';
import Keyv from 'keyv';
import KeyvRedis from '@keyv/redis';
import { kvSession } from '../../../src/index.js';
import { mountSessionRoutes } from '../../helpers/routes.js';
import { childArgs, serveChildApp } from '../helpers/child-app.js';

const { url, prefix } = childArgs();
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
serveChildApp(app);
