import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../src/options.js';
import type { KvSessionOptions } from '../src/options.js';
import { TEST_SECRET } from './helpers/app.js';
import { codeOf } from './helpers/codes.js';

describe('resolveOptions(options)', () => {
  it('fills in every documented default', () => {
    const r = resolveOptions({ secret: TEST_SECRET });
    expect(r.store).toBe('memory://');
    expect(r.idleMs).toBe(24 * 3_600_000);
    expect(r.absoluteMs).toBe(7 * 86_400_000);
    expect(r.touchMs).toBe(2.4 * 3_600_000);
    expect(r.storeTimeoutMs).toBe(2000);
    expect(r.onStoreError).toBe('error');
    expect(r.maxSessionBytes).toBe(65536);
    expect(r.pruneMs).toBe(3_600_000);
    expect(r.prefix).toBe('sess:');
    expect(r.now).toBe(Date.now);
    expect(r.cookie).toEqual({
      name: 'sid',
      path: '/',
      domain: undefined,
      httpOnly: true,
      secure: 'auto',
      sameSite: 'lax',
      persistent: false,
    });
  });

  it('touchInterval defaults to idleTimeout / 10, rounded up', () => {
    expect(resolveOptions({ secret: TEST_SECRET, idleTimeout: '30m' }).touchMs).toBe(180_000);
    expect(resolveOptions({ secret: TEST_SECRET, idleTimeout: 15 }).touchMs).toBe(2);
  });

  it('takes pruneInterval: false to turn background pruning off', () => {
    expect(resolveOptions({ secret: TEST_SECRET, pruneInterval: false }).pruneMs).toBe(false);
  });

  const bad: [string, Partial<KvSessionOptions>][] = [
    ['idleTimeout: 0', { idleTimeout: 0 }],
    ["absoluteTimeout: 'soon'", { absoluteTimeout: 'soon' }],
    ['touchInterval equal to idleTimeout', { idleTimeout: '10m', touchInterval: '10m' }],
    ['touchInterval longer than idleTimeout', { idleTimeout: '10m', touchInterval: '1h' }],
    ['storeTimeout: -1', { storeTimeout: -1 }],
    ['maxSessionBytes: 1.5', { maxSessionBytes: 1.5 }],
    ['maxSessionBytes: 0', { maxSessionBytes: 0 }],
    ["onStoreError: 'ignore'", { onStoreError: 'ignore' as 'error' }],
    ['pruneInterval: 0', { pruneInterval: 0 }],
    ['prefix: 42', { prefix: 42 as unknown as string }],
    ['now: 5', { now: 5 as unknown as () => number }],
    ["cookie.sameSite: 'none' without secure", { cookie: { sameSite: 'none' } }],
  ];
  for (const [what, options] of bad) {
    it(`${what} throws ERR_KVSESSION_BAD_OPTION`, () => {
      expect(codeOf(() => resolveOptions({ secret: TEST_SECRET, ...options }))).toBe(
        'ERR_KVSESSION_BAD_OPTION',
      );
    });
  }
});
