// One app process for response-hold-backpressure.test.ts: GET /stream?mb=N&session=1 pipes N MB of
// fresh 64 KB buffers (as a file stream makes them) into the response; with session=1 the handler
// first sets a session value, and the store's create takes SLOW_SAVE_MS, so the response is held
// while the stream runs. Prints `listening <port>`, then one `rss <peak - baseline bytes>` line per
// stream once its response has finished. Runs until killed.
import express from 'express';
import { Readable } from 'node:stream';
import { kvSession } from '../../../src/index.js';
import { createMemoryStore } from '../../../stores/memory.js';
import { CountingStore } from '../../helpers/counting-store.js';

const SLOW_SAVE_MS = 1500;
const CHUNK = 64 * 1024;

const store = new CountingStore(createMemoryStore(), { delays: { create: SLOW_SAVE_MS } });
const app = express();
app.use(kvSession({ secret: process.env['KVSESSION_TEST_SECRET'], store, pruneInterval: false }));
app.get('/stream', (req, res) => {
  const bytes = Number(req.query['mb']) * 1024 * 1024;
  if (req.query['session'] === '1') req.session.set('download', 'started');
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  res.once('close', () => {
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    process.stdout.write(`rss ${peak - baseline}\n`);
  });
  res.setHeader('content-type', 'application/octet-stream');
  Readable.from(chunks(bytes)).pipe(res);
});

function* chunks(total: number): Generator<Buffer> {
  for (let sent = 0; sent < total; sent += CHUNK)
    yield Buffer.alloc(Math.min(CHUNK, total - sent), 1);
}

const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(
    `listening ${typeof address === 'object' && address !== null ? address.port : 0}\n`,
  );
});
