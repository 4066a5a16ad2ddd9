// One app process for response-hold-backpressure.test.ts: GET /stream?mb=N&session=1 pipes N MB of
// fresh 64 KB buffers (as a file stream makes them) into the response; with session=1 the handler
// first sets a session value, and the store's create is held for SAVE_MS, so the response is held
// while the stream runs. Prints `listening <port>`, then `pulled <bytes>` per stream once its
// response has closed: what the pipe took from the source before the save finished. That count is
// exact whatever the load or the GC's timing, where RSS is not (10-30 MB for the same run).
// Runs until killed.
import express from 'express';
import { Readable } from 'node:stream';
import { kvSession } from '../../../src/index.js';
import { createMemoryStore } from '../../../stores/memory.js';
import { CountingStore } from '../../helpers/counting-store.js';

const SAVE_MS = 1500;
const CHUNK = 64 * 1024;

const store = new CountingStore(createMemoryStore());
const app = express();
app.use(kvSession({ secret: process.env['KVSESSION_TEST_SECRET'], store, pruneInterval: false }));
app.get('/stream', (req, res) => {
  const bytes = Number(req.query['mb']) * 1024 * 1024;
  const pulled = { bytes: 0, duringSave: -1 };
  if (req.query['session'] === '1') {
    const save = store.hold('create');
    void save.reached.then(() =>
      setTimeout(() => {
        pulled.duringSave = pulled.bytes;
        save.release();
      }, SAVE_MS),
    );
    req.session.set('download', 'started');
  }
  res.once('close', () => process.stdout.write(`pulled ${pulled.duringSave}\n`));
  res.setHeader('content-type', 'application/octet-stream');
  Readable.from(chunks(bytes, pulled)).pipe(res);
});

function* chunks(total: number, pulled: { bytes: number }): Generator<Buffer> {
  for (let sent = 0; sent < total; sent += CHUNK) {
    const chunk = Buffer.alloc(Math.min(CHUNK, total - sent), 1);
    pulled.bytes += chunk.byteLength;
    yield chunk;
  }
}

const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(
    `listening ${typeof address === 'object' && address !== null ? address.port : 0}\n`,
  );
});
