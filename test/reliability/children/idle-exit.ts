// For leak.test.ts: builds kvSession over a store URL with a short pruneInterval, uses it once,
// and never calls close(). The process must then exit by itself: no timer or handle of ours may keep
// it alive. A referenced 1.2 s timer first keeps it up long enough for the pruner to run at least once.
// Usage: idle-exit.ts <store URL> <prefix> [<Postgres table>]; prints `used <status>` after the request.
import { kvSession } from '../../../src/index.js';
import { createPostgresStore } from '../../../stores/postgres.js';
import { dispatch } from '../helpers/inprocess.js';

const [url, prefix, table] = process.argv.slice(2) as [string, string, string | undefined];
// A Postgres URL names no table: the test's own one comes apart, so the shared default is never created.
const store = table === undefined ? url : createPostgresStore({ url, table, prefix });
const sessions = kvSession({
  secret: process.env['KVSESSION_TEST_SECRET'],
  store,
  prefix,
  pruneInterval: 300,
});
const created = await dispatch(sessions, undefined, async (req, res) => {
  req.session.set('x', 1);
  res.end();
});
process.stdout.write(`used ${created.status}\n`);
setTimeout(() => process.stdout.write('waited\n'), 1200);
