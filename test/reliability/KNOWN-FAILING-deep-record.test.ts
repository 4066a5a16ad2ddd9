import { expect, it } from 'vitest';
import { TEST_SECRET, startApp } from '../helpers/app.js';
import { mountSessionRoutes } from '../helpers/routes.js';
import { Signer } from '../../src/signer.js';
import { createSessionId, storeKeyFor } from '../../src/id.js';
import { createMemoryStore } from '../../stores/memory.js';

/*
 * KNOWN FAILING until src/record.ts is fixed (reported to the lead).
 * A stored record in our shape whose data nests deeper than the serializer's MAX_DEPTH (512) is
 * accepted by decodeRecord (JSON.parse is iterative in V8 and copes with any depth), but the
 * recursive decodeValue (get/all) and JSON.stringify (the merge on the next save) then overflow the
 * stack: a RangeError without a code reaches next(err), against "every error is a KvSessionError".
 * Our own writes can never produce such a record (encodeValue refuses > 512 levels), so it takes a
 * foreign writer or someone with store access. Fix: decodeRecord rejects a record whose data is
 * nested deeper than MAX_DEPTH (an iterative depth walk), so it reads as "not ours" and is deleted.
 * The memory store suffices: the fault is in the core, the same on every store.
 */
it('a stored record nested 100,000 levels deep reads as no session (or a coded error), never an uncoded RangeError', async () => {
  const store = createMemoryStore();
  const app = await startApp({ session: { store }, routes: mountSessionRoutes });
  const id = createSessionId();
  const key = storeKeyFor('', id);
  const depth = 100_000;
  await store.create(key, `{"c":${Date.now()},"d":{"x":${'['.repeat(depth)}${']'.repeat(depth)}}}`, Date.now() + 3_600_000);
  const cookie = `sid=${new Signer(TEST_SECRET).sign(id)}`;
  await app.client().get('/get/x', { cookie });
  await app.client().post('/set/y/1', { cookie });
  for (const seen of app.errors) expect(seen.code).toMatch(/^ERR_KVSESSION_/);
});
