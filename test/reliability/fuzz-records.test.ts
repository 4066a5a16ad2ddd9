import { describe, expect, it } from 'vitest';
import type { StoreUnderTest } from '../helpers/stores.js';
import { STORES_UNDER_TEST } from '../helpers/stores.js';
import { describeWithServer } from '../helpers/services.js';
import { TEST_SECRET, startApp } from '../helpers/app.js';
import { mountSessionRoutes } from '../helpers/routes.js';
import { Signer } from '../../src/signer.js';
import { createSessionId, storeKeyFor } from '../../src/id.js';

const HOUR = 3_600_000;
const signer = new Signer(TEST_SECRET);
const now = Date.now();

/**
 * Store values that are not kvsession records: what another app sharing the prefix, an older
 * version, a hand edit or an attacker with store access could leave there. Each must read as
 * "no session" and be deleted, or fail with a coded error; never an uncaught exception.
 */
const FOREIGN_RECORDS: Readonly<Record<string, string>> = {
  'garbage text': 'not json at all {',
  'empty string': '',
  'empty object': '{}',
  'JSON array': '[1,2,3]',
  'JSON null': 'null',
  'JSON string': '"sess"',
  'huge number': '1e999',
  'long integer': '123456789012345678901234567890',
  'keyv envelope (double wrapped)': JSON.stringify({
    value: JSON.stringify({ c: now, d: {} }),
    expires: now + HOUR,
  }),
  'express-session record': JSON.stringify({
    cookie: { originalMaxAge: null, httpOnly: true, path: '/' },
    x: 'stolen',
  }),
  'createdAt as string': JSON.stringify({ c: String(now), d: { x: 1 } }),
  'createdAt infinite': '{"c":1e999,"d":{"x":1}}',
  'data as array': JSON.stringify({ c: now, d: ['x'] }),
  'data as null': JSON.stringify({ c: now, d: null }),
  'user id as number': JSON.stringify({ c: now, u: 7, d: {} }),
  'created in 1970': JSON.stringify({ c: 1, d: { x: 1 } }),
  // JSON.parse copes with any depth; the recursive decode and the re-encode on save would not.
  'record nested 100,000 levels deep': `{"c":${now},"d":{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`,
  // A BOM is valid text for every backend yet makes JSON.parse fail. (Raw NUL or lone surrogates in the
  // record text itself cannot be planted on Postgres at all: its json parser rejects them on write.)
  'BOM before the record': `\ufeff{"c":${now},"d":{"x":"\\u0000\\ud800"}}`,
};

/** Records in our shape whose data cannot be decoded: a coded error is acceptable, an uncoded one is not. */
const UNDECODABLE_RECORDS: Readonly<Record<string, string>> = {
  'unknown value tag': JSON.stringify({ c: now, d: { x: { $kv: 'evil', v: 1 } } }),
  'date tag with text': JSON.stringify({ c: now, d: { x: { $kv: 'date', v: 'yesterday' } } }),
  '__proto__ key': `{"c":${now},"d":{"__proto__":{"polluted":true},"x":1}}`,
};

for (const target of STORES_UNDER_TEST) {
  const name = `foreign and corrupt records on ${target.name}`;
  if (target.serverUrl === undefined) describe(name, () => recordTests(target));
  else await describeWithServer(name, target.serverUrl, () => recordTests(target));
}

function recordTests(target: StoreUnderTest): void {
  const plant = async (value: string) => {
    const store = await target.make();
    const app = await startApp({ session: { store }, routes: mountSessionRoutes });
    const id = createSessionId();
    const key = storeKeyFor('', id);
    expect(await store.create(key, value, Date.now() + HOUR)).toBe(true);
    return { app, store, key, cookie: `sid=${signer.sign(id)}` };
  };

  for (const [label, value] of Object.entries(FOREIGN_RECORDS)) {
    it(`a stored ${label} reads as no session, is deleted, and a write then starts a new session`, async () => {
      const { app, store, key, cookie } = await plant(value);
      const client = app.client();
      const read = await client.get('/get/x', { cookie });
      expect({ status: read.status, body: read.json(), setCookie: read.rawSetCookies }).toEqual({
        status: 200,
        body: { value: null },
        setCookie: [],
      });
      expect(await store.get(key)).toBeUndefined();
      const write = await client.post('/set/x/fresh', { cookie });
      expect(write.status).toBe(200);
      expect(write.cookie()?.value).not.toBe(cookie.slice('sid='.length));
      expect((await client.get('/get/x')).json()).toEqual({ value: 'fresh' });
      expect(app.errors).toEqual([]);
    });
  }

  for (const [label, value] of Object.entries(UNDECODABLE_RECORDS)) {
    it(`a stored record with ${label} answers its value or a coded error, never an uncoded one`, async () => {
      const { app, cookie } = await plant(value);
      const replies = [
        await app.client().get('/get/x', { cookie }),
        await app.client().get('/all', { cookie }),
        await app.client().post('/set/y/1', { cookie }),
      ];
      for (const reply of replies)
        expect(
          reply.status === 200 || reply.json<{ code: string }>().code.startsWith('ERR_KVSESSION_'),
        ).toBe(true);
      expect(app.errors.map((e) => e.code)).toEqual(
        app.errors.map(() => 'ERR_KVSESSION_CORRUPT_RECORD'),
      );
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    });
  }
}
