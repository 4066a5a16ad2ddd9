import { describe, expect, it } from 'vitest';
import { PLAIN_CODEC, SealingCodec, hashedUserKey } from '../src/record-codec.js';
import { kvSession } from '../src/index.js';
import { TEST_SECRET } from './helpers/app.js';
import { codeOf } from './helpers/codes.js';

const NEW = 'new-secret-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const OLD = 'old-secret-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const PLAIN = '{"c":1700000000000,"u":"alice@example.test","d":{"cart":["x"]}}';

describe('SealingCodec', () => {
  it('seal(key, text) opens under the same key only, and never repeats its output', () => {
    const codec = new SealingCodec([NEW]);
    const a = codec.seal('key-a', PLAIN);
    expect(a).toMatch(/^s1\.[A-Za-z0-9_-]+$/);
    expect(a).not.toContain('alice');
    expect(codec.seal('key-a', PLAIN)).not.toBe(a);
    expect(codec.open('key-a', a)).toBe(PLAIN);
    expect(codec.open('key-b', a)).toBeUndefined();
  });

  it('open() refuses tampered, truncated, foreign and plain text', () => {
    const codec = new SealingCodec([NEW]);
    const sealed = codec.seal('k', PLAIN);
    const body = Buffer.from(sealed.slice(3), 'base64url');
    for (let i = 0; i < body.length; i += 7) {
      const flipped = Buffer.from(body);
      flipped[i] = (flipped[i] as number) ^ 1;
      expect(codec.open('k', `s1.${flipped.toString('base64url')}`)).toBeUndefined();
    }
    for (const text of [
      sealed.slice(0, -4),
      's1.',
      's1.AAAA',
      PLAIN,
      '',
      `s2.${sealed.slice(3)}`,
    ]) {
      expect(codec.open('k', text)).toBeUndefined();
    }
    expect(new SealingCodec([OLD]).open('k', sealed)).toBeUndefined();
  });

  it('rotation: the first secret seals, every secret opens', () => {
    const before = new SealingCodec([OLD]);
    const during = new SealingCodec([NEW, OLD]);
    const after = new SealingCodec([NEW]);
    const old = before.seal('k', PLAIN);
    expect(during.open('k', old)).toBe(PLAIN);
    const fresh = during.seal('k', PLAIN);
    expect(after.open('k', fresh)).toBe(PLAIN);
    expect(before.open('k', fresh)).toBeUndefined();
    expect(after.open('k', old)).toBeUndefined();
  });

  it('userKeys(userId): an HMAC per secret, newest first, unlike the plain SHA-256 key and stable', () => {
    const during = new SealingCodec([NEW, OLD]);
    const keys = during.userKeys('42');
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(new SealingCodec([NEW]).userKeys('42')[0]);
    expect(keys[1]).toBe(new SealingCodec([OLD]).userKeys('42')[0]);
    expect(keys[0]).toMatch(/^user:[A-Za-z0-9_-]{43}$/);
    expect(keys).not.toContain(hashedUserKey('42'));
    expect(during.userKeys('43')[0]).not.toBe(keys[0]);
  });
});

describe('PLAIN_CODEC', () => {
  it('keeps text as is and names a user index by SHA-256', () => {
    expect(PLAIN_CODEC.seal('k', PLAIN)).toBe(PLAIN);
    expect(PLAIN_CODEC.open('k', PLAIN)).toBe(PLAIN);
    expect(PLAIN_CODEC.userKeys('42')).toEqual([hashedUserKey('42')]);
  });
});

describe('the sealRecords option', () => {
  it('a non-boolean throws ERR_KVSESSION_BAD_OPTION', () => {
    for (const sealRecords of ['yes', 1, null]) {
      const options = { secret: TEST_SECRET, sealRecords: sealRecords as unknown as boolean };
      expect(codeOf(() => kvSession(options))).toBe('ERR_KVSESSION_BAD_OPTION');
    }
  });
});
