import assert from 'node:assert/strict';
import type { SessionStore } from '../../../src/index.js';
import { PLAIN_CODEC, SealingCodec } from '../../../src/record-codec.js';
import { UserIndex } from '../../../src/user-index.js';
import { encodeHead, encodeSlot, slotKey } from '../../../src/user-slots.js';
import { encodeRecord } from '../../../src/record.js';
import { handleFor } from '../../../src/id.js';
import type { Suite } from '../../../conformance/util.js';
import { HOUR, inMs, randomKey, withStore } from '../../../conformance/util.js';
import type { IndexRecords } from './index-records.js';
import { GRACE, IDLE, SEAL_SECRET, randomUser } from './index-records.js';

// The secret the sealed run had before a rotation prepended the suite's secret.
const OLD_SECRET = 'conformance-older-secret-0123456789abcdef';

/** The user-index tests only sealRecords has: nothing in clear, moved or forged index records ignored, rotation. */
export function sealedIndexTests(suite: Suite, records: IndexRecords): void {
  const { test } = suite;
  const { codec, newIndex, headKey, writeSessions } = records;

  test('sealRecords: head, slot and session records hold neither user id nor session key; their keys do not hash it plainly', () =>
    withStore(suite, async (store) => {
      const index = newIndex(store);
      const user = randomUser();
      const [s] = await writeSessions(store, index, user, 1);
      const texts = [headKey(user), slotKey(headKey(user), 0), s!.key].map(
        async (key) => (await store.get(key))?.value,
      );
      for (const text of await Promise.all(texts)) {
        assert.ok(text !== undefined && text.startsWith('s1.'));
        assert.ok(!text.includes(user) && !text.includes(s!.key) && !text.includes('"u"'));
      }
      assert.notEqual(headKey(user), PLAIN_CODEC.userKeys(user)[0]);
      assert.equal(await store.get(PLAIN_CODEC.userKeys(user)[0] as string), undefined);
    }));

  test('sealRecords: a sealed session record copied under another key and bound is neither listed nor ended', () =>
    withStore(suite, async (store) => {
      const index = newIndex(store);
      const user = randomUser();
      const [real] = await writeSessions(store, index, user, 1);
      const copy = randomKey();
      const entry = await store.get(real!.key);
      assert.ok(entry);
      assert.equal(await store.create(copy, entry.value, entry.expiresAt), true);
      await index.bind(user, copy, inMs(HOUR));
      assert.deepEqual(
        (await index.list(user)).map((s) => s.handle),
        [handleFor(real!.key)],
      );
      assert.equal(await index.destroyAll(user), 1);
      assert.ok(await store.get(copy));
    }));

  test("sealRecords: a slot record copied into another user's index, or into another slot, points at nothing", () =>
    withStore(suite, async (store) => {
      const index = newIndex(store);
      const [alice, mallory] = [randomUser(), randomUser()];
      const [victim] = await writeSessions(store, index, alice, 1);
      await writeSessions(store, index, mallory, 1);
      const aliceSlot = await store.get(slotKey(headKey(alice), 0));
      assert.ok(aliceSlot);
      // Mallory's index gets slot 1 (the head is widened with a genuine bind), then holds a copy of Alice's slot 0.
      const { slot } = await index.bind(mallory, randomKey(), inMs(HOUR));
      const target = slotKey(headKey(mallory), slot);
      const planted = await store.get(target);
      assert.ok(planted);
      assert.equal(
        await store.update(target, planted.value, aliceSlot.value, planted.expiresAt),
        true,
      );
      assert.equal((await index.list(mallory)).length, 1);
      assert.equal(await index.destroyAll(mallory), 1);
      assert.ok(await store.get(victim!.key));
      // Alice's slot 0 copied over her slot 1: slot 1 no longer opens, and her first session is listed once.
      const [second] = await writeSessions(store, index, alice, 1);
      const aliceSecond = await store.get(slotKey(headKey(alice), 1));
      assert.ok(aliceSecond);
      assert.equal(
        await store.update(
          slotKey(headKey(alice), 1),
          aliceSecond.value,
          aliceSlot.value,
          aliceSecond.expiresAt,
        ),
        true,
      );
      assert.deepEqual(
        (await index.list(alice)).map((s) => s.handle),
        [handleFor(victim!.key)],
      );
      assert.ok(await store.get(second!.key));
    }));

  test('sealRecords: index records written without the secret are ignored, never an error, and a bind replaces the head', () =>
    withStore(suite, async (store) => {
      const index = newIndex(store);
      const user = randomUser();
      const victim = randomKey();
      await store.create(
        victim,
        codec.seal(
          victim,
          encodeRecord({ createdAt: Date.now(), userId: user, slot: 0, data: {} }),
        ),
        inMs(HOUR),
      );
      // A plain head and slot 0 pointing at the user's real session, as someone without the secret could write them.
      await store.create(headKey(user), encodeHead({ lo: 0, hi: 1, n: 1, f: 1, t: 0 }), inMs(HOUR));
      await store.create(slotKey(headKey(user), 0), encodeSlot({ key: victim, at: 0 }), inMs(HOUR));
      assert.deepEqual(await index.list(user), []);
      assert.equal(await index.destroyAll(user), 0);
      assert.ok(await store.get(victim));
      const [mine] = await writeSessions(store, index, user, 1);
      assert.deepEqual(
        (await index.list(user)).map((s) => s.handle),
        [handleFor(mine!.key)],
      );
    }));

  test('sealRecords rotation: older-secret sessions are listed, extended, unbound and ended; new ones bind under the first secret', () =>
    withStore(suite, async (store) => {
      const user = randomUser();
      const before = new UserIndex(store, IDLE, Date.now, GRACE, {
        codec: new SealingCodec([OLD_SECRET]),
      });
      const rotatedCodec = new SealingCodec([SEAL_SECRET, OLD_SECRET]);
      const rotated = new UserIndex(store, IDLE, Date.now, GRACE, { codec: rotatedCodec });
      const old = await bindSealed(store, before, new SealingCodec([OLD_SECRET]), user, 2);
      const fresh = await bindSealed(store, rotated, rotatedCodec, user, 2);
      // Slot numbers repeat across the two names: the first session of each index is in slot 0.
      assert.deepEqual([old[0]!.slot, fresh[0]!.slot], [0, 0]);
      assert.equal((await store.get(rotatedCodec.userKeys(user)[0] as string)) !== undefined, true);
      const handles = (list: { key: string }[]): string[] =>
        list.map((s) => handleFor(s.key)).sort();
      assert.deepEqual(
        (await rotated.list(user)).map((s) => s.handle).sort(),
        handles([...old, ...fresh]),
      );
      assert.equal(await rotated.extend(user, 0, old[0]!.key, inMs(HOUR)), true);
      assert.equal(await rotated.extend(user, 0, randomKey(), inMs(HOUR)), false);
      // Unbinding the old session's slot 0 leaves the new index's slot 0 alone.
      assert.equal(await store.delete(old[0]!.key), true);
      await rotated.unbind(user, 0, old[0]!.key);
      assert.ok(await store.get(slotKey(rotatedCodec.userKeys(user)[0] as string, 0)));
      assert.deepEqual(
        (await rotated.list(user)).map((s) => s.handle).sort(),
        handles([old[1]!, ...fresh]),
      );
      assert.equal(await rotated.destroyAll(user), 3);
      assert.deepEqual(await rotated.list(user), []);
    }));
}

/** Binds `n` sessions of `userId` through `index` and writes their records sealed with `sealer`. */
async function bindSealed(
  store: SessionStore,
  index: UserIndex,
  sealer: SealingCodec,
  userId: string,
  n: number,
): Promise<{ key: string; slot: number }[]> {
  const out: { key: string; slot: number }[] = [];
  for (let i = 0; i < n; i++) {
    const key = randomKey();
    const { slot } = await index.bind(userId, key, inMs(7 * 24 * HOUR));
    const record = sealer.seal(
      key,
      encodeRecord({ createdAt: Date.now() + i, userId, slot, data: {} }),
    );
    assert.equal(await store.create(key, record, inMs(IDLE)), true);
    out.push({ key, slot });
  }
  return out;
}
