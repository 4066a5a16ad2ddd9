import { describe, expect, it } from 'vitest';
import type { Request } from 'express';
import { Signer } from '../src/signer.js';
import { createSessionId, storeKeyFor } from '../src/id.js';
import { BoundedCache } from '../src/bounded-cache.js';
import { VerifiedCookies } from '../src/verified-cookies.js';

const NEW = 'new-secret-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const OLD = 'old-secret-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';

/** A Signer that counts verify() calls, i.e. how often the full HMAC check runs. */
class CountingSigner extends Signer {
  verifications = 0;
  override verify(value: string | undefined): ReturnType<Signer['verify']> {
    this.verifications++;
    return super.verify(value);
  }
}

function request(cookieHeader: string | undefined): Request {
  return { headers: cookieHeader === undefined ? {} : { cookie: cookieHeader } } as Request;
}

describe('VerifiedCookies.read(req)', () => {
  it('returns the ID, its store key and rotated: false for a cookie signed with the newest secret', () => {
    const id = createSessionId();
    const cookies = new VerifiedCookies(new Signer([NEW, OLD]), 'sid');
    expect(cookies.read(request(`a=1; sid=${new Signer(NEW).sign(id)}`))).toEqual({
      id,
      key: storeKeyFor('', id),
      rotated: false,
    });
  });

  it('runs the HMAC check once per cookie value; a returning client is answered from memory, same verdict', () => {
    const signer = new CountingSigner([NEW, OLD]);
    const cookies = new VerifiedCookies(signer, 'sid');
    const value = new Signer(OLD).sign(createSessionId());
    const first = cookies.read(request(`sid=${value}`));
    // Other cookies around it change nothing: the verdict is remembered by the session cookie's value.
    const second = cookies.read(request(`theme=dark; sid=${value}`));
    expect(signer.verifications).toBe(1);
    expect(second).toBe(first);
    expect(second?.rotated).toBe(true);
  });

  it('never remembers a forged, malformed or absent cookie: each one is checked in full and refused', () => {
    const signer = new CountingSigner(NEW);
    const cookies = new VerifiedCookies(signer, 'sid');
    const valid = signer.sign(createSessionId());
    expect(cookies.read(request(`sid=${valid}`))).toBeDefined();
    const forged = `${valid.slice(0, -1)}${valid.endsWith('A') ? 'B' : 'A'}`;
    for (const header of [
      `sid=${forged}`,
      `sid=${forged}`,
      'sid=garbage',
      'sid=',
      'other=1',
      undefined,
    ]) {
      expect(cookies.read(request(header))).toBeUndefined();
    }
    // 1 for the valid cookie, then the forged value twice, 'garbage' and the empty value; no cookie at all never gets that far.
    expect(signer.verifications).toBe(5);
  });

  it('a cookie signed by a secret that is not configured is refused even though its ID was seen with a valid signature', () => {
    const id = createSessionId();
    const cookies = new VerifiedCookies(new Signer(NEW), 'sid');
    expect(cookies.read(request(`sid=${new Signer(NEW).sign(id)}`))?.id).toBe(id);
    expect(cookies.read(request(`sid=${new Signer(OLD).sign(id)}`))).toBeUndefined();
  });

  it('stays bounded however many distinct valid cookies it sees', () => {
    const signer = new Signer(NEW);
    const cookies = new VerifiedCookies(signer, 'sid');
    const values = Array.from({ length: 5000 }, () => signer.sign(createSessionId()));
    for (const v of values) expect(cookies.read(request(`sid=${v}`))).toBeDefined();
    // The oldest were forgotten, yet still verify (by the full check) when they come back.
    expect(cookies.read(request(`sid=${values[0] as string}`))).toBeDefined();
  });
});

describe('BoundedCache', () => {
  it('remembers up to twice its limit and forgets the least recently refreshed half', () => {
    const cache = new BoundedCache<number, string>(3);
    for (let i = 0; i < 6; i++) cache.set(i, `v${i}`);
    expect(cache.size).toBe(6);
    expect([5, 4, 3, 2].map((i) => cache.get(i))).toEqual(['v5', 'v4', 'v3', 'v2']);
    for (let i = 6; i < 100; i++) cache.set(i, `v${i}`);
    expect(cache.size).toBeLessThanOrEqual(6);
    expect(cache.get(0)).toBeUndefined();
    expect(cache.get(99)).toBe('v99');
  });

  it('a hit in the older half survives the next turnover', () => {
    const cache = new BoundedCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3); // a, b are now the older half
    expect(cache.get('a')).toBe(1); // refreshed into the younger half: c, a
    cache.set('d', 4); // younger half full: c, a become the older half, b is forgotten
    expect(cache.get('a')).toBe(1);
    expect(cache.get('b')).toBeUndefined();
  });
});

describe('VerifiedCookies.read(req) with several cookies of the session name', () => {
  it('keeps the single-cookie fast path: one value, one HMAC, then answered from memory', () => {
    const signer = new CountingSigner(NEW);
    const cookies = new VerifiedCookies(signer, 'sid');
    const value = signer.sign(createSessionId());
    cookies.read(request(`a=1; sid=${value}`));
    cookies.read(request(`a=1; sid=${value}`));
    expect(signer.verifications).toBe(1);
  });

  it('ignores invalid values around a valid one; two valid IDs resolve to undefined', () => {
    const signer = new Signer(NEW);
    const cookies = new VerifiedCookies(signer, 'sid');
    const [a, b] = [createSessionId(), createSessionId()];
    expect(cookies.read(request(`sid=x; sid=${signer.sign(a)}; sid=`))?.id).toBe(a);
    expect(cookies.read(request(`sid=${signer.sign(a)}; sid=${signer.sign(b)}`))).toBeUndefined();
  });

  it('one ID signed with an old and the new secret resolves to it, not rotated', () => {
    const id = createSessionId();
    const cookies = new VerifiedCookies(new Signer([NEW, OLD]), 'sid');
    const header = `sid=${new Signer(OLD).sign(id)}; sid=${new Signer(NEW).sign(id)}`;
    expect(cookies.read(request(header))).toEqual({ id, key: storeKeyFor('', id), rotated: false });
  });
});
