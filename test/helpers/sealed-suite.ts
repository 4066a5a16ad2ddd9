import { describe, expect, it } from 'vitest';
import type { CountingStore } from './counting-store.js';
import type { Client, TestApp, TestSessionOptions } from './app.js';
import { TEST_SECRET, startApp } from './app.js';
import { mountUserRoutes, sessionKey } from './user-sessions-helpers.js';
import { encodeRecord } from '../../src/record.js';
import { SealingCodec } from '../../src/record-codec.js';

type Setup = (
  session?: TestSessionOptions,
) => Promise<{ store: CountingStore; t: { client(): Client }; client: Client }>;

const OTHER_SECRET = 'another-secret-that-is-long-enough-0123456789';

/**
 * What sealRecords adds on a real store (issue 18): the store holds no data or user id in clear,
 * and a record moved under another session's key or written without the secret is no session.
 */
export function sealedRecordTests(setup: Setup): void {
  describe('sealRecords', () => {
    it('the stored record holds neither the data nor the user id in clear', async () => {
      // The suite's store, in an app that also has the login routes.
      const { store } = await setup();
      const user = `alice-${Math.random().toString(36).slice(2)}`;
      const app = await startApp({
        session: { store: store.inner, sealRecords: true },
        keepStore: true,
        routes: (e) => mountUserRoutes(e, () => app.sessions),
      });
      const client = app.client();
      expect((await client.post(`/login?user=${user}`)).status).toBe(200);
      await client.post('/set/card/4111-plaintext-marker');
      const entry = await store.inner.get(sessionKey(client));
      expect(entry?.value).toMatch(/^s1\.[A-Za-z0-9_-]+$/);
      expect(entry?.value).not.toContain('plaintext-marker');
      expect(entry?.value).not.toContain(user);
      expect((await client.get('/get/card')).json()).toEqual({ value: '4111-plaintext-marker' });
      expect((await client.get('/me')).json<{ userId: unknown }>().userId).toBe(user);
    });

    it('log out everywhere finds and ends every sealed session of a user', async () => {
      const { store } = await setup();
      const app = await startApp({
        session: { store: store.inner, sealRecords: true },
        keepStore: true,
        routes: (e) => mountUserRoutes(e, () => app.sessions),
      });
      const user = `bob-${Math.random().toString(36).slice(2)}`;
      const devices = [app.client(), app.client(), app.client()];
      for (const device of devices)
        expect((await device.post(`/login?user=${user}`)).status).toBe(200);
      expect(await app.sessions.listUserSessions(user)).toHaveLength(3);
      expect(await app.sessions.destroyUserSessions(user)).toBe(3);
      for (const device of devices)
        expect((await device.get('/me')).json()).toEqual({ userId: null, handle: null });
    });

    it('rotation: a new first secret still lists and ends sessions bound under the old one, and new ones', async () => {
      const { store } = await setup();
      const userApp = async (secret: string | string[]): Promise<TestApp> => {
        const app: TestApp = await startApp({
          session: { store: store.inner, sealRecords: true, secret },
          keepStore: true,
          routes: (e) => mountUserRoutes(e, () => app.sessions),
        });
        return app;
      };
      const user = `dave-${Math.random().toString(36).slice(2)}`;
      const before = await userApp(TEST_SECRET);
      const oldDevice = before.client();
      expect((await oldDevice.post(`/login?user=${user}`)).status).toBe(200);
      const during = await userApp([OTHER_SECRET, TEST_SECRET]);
      const newDevice = during.client();
      expect((await newDevice.post(`/login?user=${user}`)).status).toBe(200);
      expect(await during.sessions.listUserSessions(user)).toHaveLength(2);
      expect(await during.sessions.destroyUserSessions(user)).toBe(2);
      expect(await during.sessions.listUserSessions(user)).toEqual([]);
    });

    it("a record copied under another session's key reads as no session, and is deleted", async () => {
      const { store, t, client } = await setup();
      await client.post('/set/who/victim');
      const attacker = t.client();
      await attacker.post('/set/who/attacker');
      const [victimKey, attackerKey] = [sessionKey(client), sessionKey(attacker)];
      const [victimEntry, attackerEntry] = [
        await store.inner.get(victimKey),
        await store.inner.get(attackerKey),
      ];
      expect(
        await store.inner.update(
          attackerKey,
          attackerEntry!.value,
          victimEntry!.value,
          victimEntry!.expiresAt,
        ),
      ).toBe(true);
      store.reset();
      expect((await attacker.get('/get/who')).json()).toEqual({ value: null });
      expect(store.nonZero()).toEqual({ get: 1, delete: 1 });
      expect((await client.get('/get/who')).json()).toEqual({ value: 'victim' });
    });

    it('a record written without the secret (plain, or sealed with another secret) reads as no session', async () => {
      const { store, client } = await setup();
      await client.post('/set/who/real');
      const key = sessionKey(client);
      const forgeries = [
        encodeRecord({ createdAt: Date.now(), userId: 'admin', data: {} }),
        new SealingCodec([OTHER_SECRET]).seal(
          key,
          encodeRecord({ createdAt: Date.now(), userId: 'admin', data: {} }),
        ),
      ];
      for (const forged of forgeries) {
        const entry = await store.inner.get(key);
        if (entry === undefined) await store.inner.create(key, forged, Date.now() + 60_000);
        else expect(await store.inner.update(key, entry.value, forged, entry.expiresAt)).toBe(true);
        expect((await client.get('/get/who')).json()).toEqual({ value: null });
      }
    });

    it('rotation: records sealed under the old first secret still open once a new secret is prepended', async () => {
      const { store, client } = await setup({ secret: TEST_SECRET });
      await client.post('/set/who/before');
      const rotated = await startApp({
        session: { store: store.inner, sealRecords: true, secret: [OTHER_SECRET, TEST_SECRET] },
        keepStore: true,
        routes: (e) => mountUserRoutes(e, () => rotated.sessions),
      });
      const same = rotated.client();
      same.jar.set('sid', client.cookie() as string);
      expect((await same.get('/get/who')).json()).toEqual({ value: 'before' });
      await same.post('/set/who/after');
      // Re-sealed with the new first secret: the old configuration alone no longer opens it.
      expect((await client.get('/get/who')).json()).toEqual({ value: null });
    });
  });
}
