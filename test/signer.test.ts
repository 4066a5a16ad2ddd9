import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Signer, MIN_SECRET_LENGTH } from '../src/signer.js';
import { createSessionId } from '../src/id.js';
import { kvSession } from '../src/index.js';
import { startApp } from './helpers/app.js';
import { mountSessionRoutes } from './helpers/routes.js';
import { createMemoryStore } from '../stores/memory.js';
import { codeOf } from './helpers/codes.js';

const NEW = 'new-secret-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const OLD = 'old-secret-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('Signer.sign(id)', () => {
  it('returns id + "." + base64url HMAC-SHA-256 of the id under the first secret', () => {
    const id = createSessionId();
    const expected = createHmac('sha256', NEW).update(id).digest('base64url');
    expect(new Signer([NEW, OLD]).sign(id)).toBe(`${id}.${expected}`);
    expect(new Signer(NEW).sign(id)).toBe(`${id}.${expected}`);
  });
});

describe('Signer.verify(value)', () => {
  it('accepts a value signed with the first secret, not rotated', () => {
    const id = createSessionId();
    expect(new Signer([NEW, OLD]).verify(new Signer(NEW).sign(id))).toEqual({
      status: 'valid',
      id,
      rotated: false,
    });
  });

  it('accepts a value signed with an older secret, marked rotated', () => {
    const id = createSessionId();
    expect(new Signer([NEW, OLD]).verify(new Signer(OLD).sign(id))).toEqual({
      status: 'valid',
      id,
      rotated: true,
    });
  });

  it('rejects a value signed with a secret no longer listed', () => {
    expect(new Signer(NEW).verify(new Signer(OLD).sign(createSessionId()))).toEqual({
      status: 'tampered',
    });
  });

  it('returns absent for undefined and the empty string, tampered for garbage', () => {
    const signer = new Signer(NEW);
    expect(signer.verify(undefined)).toEqual({ status: 'absent' });
    expect(signer.verify('')).toEqual({ status: 'absent' });
    for (const junk of [
      'x',
      '.',
      'abc.def',
      `.${'A'.repeat(43)}`,
      createSessionId(),
      `${createSessionId()}.`,
    ]) {
      expect(signer.verify(junk)).toEqual({ status: 'tampered' });
    }
  });

  it('rejects every single-character change, at every position, under every secret', () => {
    const signer = new Signer([NEW, OLD]);
    for (const good of [signer.sign(createSessionId()), new Signer(OLD).sign(createSessionId())]) {
      expect(good).toHaveLength(87);
      let tried = 0;
      for (let i = 0; i < good.length; i++) {
        for (const ch of ALPHABET + '.') {
          if (ch === good[i]) continue;
          const bad = good.slice(0, i) + ch + good.slice(i + 1);
          expect(signer.verify(bad), bad).toEqual({ status: 'tampered' });
          tried++;
        }
      }
      expect(tried).toBe(87 * 64);
    }
  });

  it('rejects every removed character and every appended or prepended one', () => {
    const signer = new Signer(NEW);
    const good = signer.sign(createSessionId());
    for (let i = 0; i < good.length; i++) {
      expect(signer.verify(good.slice(0, i) + good.slice(i + 1))).toEqual({ status: 'tampered' });
    }
    for (const ch of ALPHABET + '.=') {
      expect(signer.verify(good + ch)).toEqual({ status: 'tampered' });
      expect(signer.verify(ch + good)).toEqual({ status: 'tampered' });
    }
  });

  it('rejects other spellings of the last signature character that decode to the same bytes', () => {
    const signer = new Signer(NEW);
    const good = signer.sign(createSessionId());
    const sig = good.slice(good.lastIndexOf('.') + 1);
    const last = ALPHABET.indexOf(sig.slice(-1));
    // 43 base64 chars carry 258 bits for 256: the last char's 2 low bits are padding.
    const twins = [0, 1, 2, 3]
      .map((low) => ALPHABET[(last & ~3) | low] as string)
      .filter((c) => c !== sig.slice(-1));
    expect(twins).toHaveLength(3);
    for (const twin of twins) {
      const bad = good.slice(0, -1) + twin;
      expect(Buffer.from(bad.slice(-43), 'base64url')).toEqual(Buffer.from(sig, 'base64url'));
      expect(signer.verify(bad)).toEqual({ status: 'tampered' });
    }
  });
});

describe('new Signer(secret)', () => {
  it('throws ERR_KVSESSION_NO_SECRET for a missing or empty secret', () => {
    for (const secret of [undefined, '', [], ['']]) {
      expect(codeOf(() => new Signer(secret))).toBe('ERR_KVSESSION_NO_SECRET');
    }
  });

  it(`throws ERR_KVSESSION_WEAK_SECRET for a secret under ${MIN_SECRET_LENGTH} characters, alone or in a list`, () => {
    expect(MIN_SECRET_LENGTH).toBe(32);
    expect(codeOf(() => new Signer('s'.repeat(31)))).toBe('ERR_KVSESSION_WEAK_SECRET');
    expect(codeOf(() => new Signer([NEW, 's'.repeat(31)]))).toBe('ERR_KVSESSION_WEAK_SECRET');
    expect(codeOf(() => new Signer('s'.repeat(32)))).toBeUndefined();
  });

  it('throws coded errors for secrets that are not strings', () => {
    expect(codeOf(() => new Signer(null as unknown as string))).toBe('ERR_KVSESSION_NO_SECRET');
    expect(codeOf(() => new Signer(12345 as unknown as string))).toBe('ERR_KVSESSION_WEAK_SECRET');
    expect(codeOf(() => new Signer([NEW, 42] as unknown as string[]))).toBe(
      'ERR_KVSESSION_WEAK_SECRET',
    );
  });

  it('kvSession() throws the same codes at construction', () => {
    expect(codeOf(() => kvSession({ secret: undefined }))).toBe('ERR_KVSESSION_NO_SECRET');
    expect(codeOf(() => kvSession({ secret: 'short' }))).toBe('ERR_KVSESSION_WEAK_SECRET');
    expect(codeOf(() => kvSession(undefined as unknown as { secret: string }))).toBe(
      'ERR_KVSESSION_NO_SECRET',
    );
  });
});

describe('secret rotation through the middleware', () => {
  async function sessionUnder(secret: string | string[]) {
    const store = createMemoryStore();
    const old = await startApp({
      session: { secret, store },
      routes: mountSessionRoutes,
      keepStore: true,
    });
    const client = old.client();
    await client.post('/set/x/1');
    await old.close();
    return { store, client };
  }

  it('a cookie valid only under an older secret is re-issued signed with the newest when read', async () => {
    const { store, client } = await sessionUnder(OLD);
    const oldCookie = client.cookie() as string;
    const t = await startApp({
      session: { secret: [NEW, OLD], store },
      routes: mountSessionRoutes,
    });
    const reply = await t.client().get('/get/x', { cookie: `sid=${oldCookie}` });
    expect(reply.json()).toEqual({ value: '1' });
    const reissued = reply.cookie()?.value as string;
    const id = oldCookie.slice(0, oldCookie.indexOf('.'));
    expect(reissued).toBe(new Signer(NEW).sign(id));
    expect(new Signer(NEW).verify(reissued)).toEqual({ status: 'valid', id, rotated: false });
  });

  it('a cookie under the newest secret is not re-issued', async () => {
    const { store, client } = await sessionUnder(NEW);
    const t = await startApp({
      session: { secret: [NEW, OLD], store },
      routes: mountSessionRoutes,
    });
    const reply = await t.client().get('/get/x', { cookie: `sid=${client.cookie() as string}` });
    expect(reply.json()).toEqual({ value: '1' });
    expect(reply.rawSetCookies).toEqual([]);
  });

  it('an old-secret cookie on a route that never touches the session is left alone', async () => {
    const { store, client } = await sessionUnder(OLD);
    const t = await startApp({
      session: { secret: [NEW, OLD], store },
      routes: mountSessionRoutes,
    });
    const reply = await t.client().get('/none', { cookie: `sid=${client.cookie() as string}` });
    expect(reply.rawSetCookies).toEqual([]);
  });

  it('a cookie under a dropped secret reads as an empty session', async () => {
    const { store, client } = await sessionUnder(OLD);
    const t = await startApp({ session: { secret: NEW, store }, routes: mountSessionRoutes });
    const reply = await t.client().get('/get/x', { cookie: `sid=${client.cookie() as string}` });
    expect(reply.json()).toEqual({ value: null });
  });
});
