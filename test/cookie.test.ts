import { describe, expect, it } from 'vitest';
import { resolveCookieOptions } from '../src/cookie.js';
import type { CookieOptions } from '../src/cookie.js';
import { kvSession } from '../src/index.js';
import { startApp, TEST_SECRET } from './helpers/app.js';
import type { TestSessionOptions } from './helpers/app.js';
import { fakeClock } from './helpers/clock.js';
import { mountSessionRoutes } from './helpers/routes.js';
import { codeOf } from './helpers/codes.js';

async function setup(session: TestSessionOptions = {}, trustProxy?: boolean) {
  const t = await startApp({
    session,
    routes: mountSessionRoutes,
    ...(trustProxy === undefined ? {} : { trustProxy }),
  });
  return { t, client: t.client() };
}

/** The attributes of one Set-Cookie line, lower-cased, without name=value. */
function attributes(line: string): string[] {
  return line
    .split(';')
    .slice(1)
    .map((a) => a.trim().toLowerCase())
    .sort();
}

describe('the session cookie by default', () => {
  it('is HttpOnly, SameSite=Lax, Path=/, host-only, a browser-session cookie, not Secure on plain HTTP', async () => {
    const { client } = await setup();
    const reply = await client.post('/set/x/1');
    expect(reply.rawSetCookies).toHaveLength(1);
    const line = reply.rawSetCookies[0] as string;
    expect(line.startsWith('sid=')).toBe(true);
    expect(attributes(line)).toEqual(['httponly', 'path=/', 'samesite=lax']);
  });

  it('is Secure when trust proxy is set and X-Forwarded-Proto is https', async () => {
    const { client } = await setup({}, true);
    const reply = await client.post('/set/x/1', { 'x-forwarded-proto': 'https' });
    expect(reply.cookie()?.secure).toBe(true);
  });

  it('ignores a spoofed X-Forwarded-Proto when proxies are not trusted', async () => {
    const { client } = await setup();
    const reply = await client.post('/set/x/1', { 'x-forwarded-proto': 'https' });
    expect(reply.cookie()?.secure).toBeUndefined();
  });

  it('is not Secure behind a trusted proxy that reports http', async () => {
    const { client } = await setup({}, true);
    const reply = await client.post('/set/x/1', { 'x-forwarded-proto': 'http' });
    expect(reply.cookie()?.secure).toBeUndefined();
  });
});

describe('cookie options', () => {
  it('secure: true marks the cookie Secure even on plain HTTP', async () => {
    const { client } = await setup({ cookie: { secure: true } });
    expect((await client.post('/set/x/1')).cookie()?.secure).toBe(true);
  });

  it('name, path, domain, sameSite and httpOnly are applied as given', async () => {
    const { client } = await setup({
      cookie: {
        name: 'app',
        path: '/',
        domain: 'example.test',
        sameSite: 'strict',
        httpOnly: false,
      },
    });
    const line = (await client.post('/set/x/1')).rawSetCookies[0] as string;
    expect(line.startsWith('app=')).toBe(true);
    expect(attributes(line)).toEqual(['domain=example.test', 'path=/', 'samesite=strict']);
  });

  it('a __Host- name forces Secure, Path=/ and no Domain', async () => {
    const { client } = await setup({
      cookie: { name: '__Host-sid', path: '/app', domain: 'example.test', secure: false },
    });
    const line = (await client.post('/set/x/1')).rawSetCookies[0] as string;
    expect(line.startsWith('__Host-sid=')).toBe(true);
    expect(attributes(line)).toEqual(['httponly', 'path=/', 'samesite=lax', 'secure']);
    expect((await client.get('/get/x')).json()).toEqual({ value: '1' });
  });

  it('a __Secure- name forces Secure', () => {
    expect(resolveCookieOptions({ name: '__Secure-sid', secure: false }).secure).toBe(true);
  });

  it("sameSite 'none' without secure: true throws ERR_KVSESSION_BAD_OPTION at construction", () => {
    expect(codeOf(() => kvSession({ secret: TEST_SECRET, cookie: { sameSite: 'none' } }))).toBe(
      'ERR_KVSESSION_BAD_OPTION',
    );
    expect(
      codeOf(() =>
        kvSession({ secret: TEST_SECRET, cookie: { sameSite: 'none', secure: 'auto' } }),
      ),
    ).toBe('ERR_KVSESSION_BAD_OPTION');
    expect(
      codeOf(() => kvSession({ secret: TEST_SECRET, cookie: { sameSite: 'none', secure: false } })),
    ).toBe('ERR_KVSESSION_BAD_OPTION');
    expect(resolveCookieOptions({ sameSite: 'none', secure: true }).sameSite).toBe('none');
    expect(resolveCookieOptions({ sameSite: 'none', name: '__Host-s' }).secure).toBe(true);
  });

  it('an invalid name or sameSite throws ERR_KVSESSION_BAD_OPTION', () => {
    for (const cookie of [
      { name: 'a b' },
      { name: '' },
      { name: 'a;b' },
      { sameSite: 'sometimes' },
    ] as CookieOptions[]) {
      expect(codeOf(() => resolveCookieOptions(cookie))).toBe('ERR_KVSESSION_BAD_OPTION');
    }
  });
});

describe('persistent: true', () => {
  it('sets Max-Age to the remaining lifetime, re-issued when a touch or save extends it', async () => {
    const clock = fakeClock();
    const { client } = await setup({
      now: clock.now,
      idleTimeout: '30m',
      absoluteTimeout: '1h',
      touchInterval: '5m',
      cookie: { persistent: true },
    });
    const created = await client.post('/set/x/1');
    expect(created.cookie()?.maxAge).toBe(30 * 60);
    clock.advance(2 * 60_000);
    const quiet = await client.get('/get/x');
    expect(quiet.rawSetCookies).toEqual([]);
    clock.advance(8 * 60_000);
    const touched = await client.get('/get/x');
    expect(touched.cookie()?.maxAge).toBe(30 * 60);
    clock.advance(20 * 60_000);
    const saved = await client.post('/set/x/2');
    expect(saved.cookie()?.maxAge).toBe(30 * 60);
    clock.advance(20 * 60_000);
    // 50 minutes in: the absolute timeout leaves 10 minutes, less than the idle 30.
    const capped = await client.post('/set/x/3');
    expect(capped.cookie()?.maxAge).toBe(10 * 60);
  });

  it('never rounds a live remainder down to Max-Age=0, which would delete the cookie', async () => {
    const clock = fakeClock();
    const { client } = await setup({
      now: clock.now,
      idleTimeout: '1h',
      absoluteTimeout: 60_500,
      touchInterval: '1s',
      cookie: { persistent: true },
    });
    await client.post('/set/x/1');
    clock.advance(60_000);
    const reply = await client.post('/set/x/2');
    expect(reply.cookie()?.maxAge).toBe(1);
    expect(client.cookie()).toBeDefined();
  });

  it('without persistent, no Max-Age or Expires is ever sent', async () => {
    const clock = fakeClock();
    const { client } = await setup({ now: clock.now, idleTimeout: '10m' });
    const created = await client.post('/set/x/1');
    clock.advance(5 * 60_000);
    const touched = await client.post('/set/x/2');
    for (const c of [created.cookie(), ...touched.setCookies]) {
      expect(c?.maxAge).toBeUndefined();
      expect(c?.expires).toBeUndefined();
    }
  });
});

describe('cookie options are validated at construction (issue 18, point 8)', () => {
  const bad: CookieOptions[] = [
    { path: '/a;b' },
    { path: '/a\u0001' },
    { path: '/\u00e9' },
    { path: 'relative' },
    { path: '' },
    { domain: 'example.test; Secure' },
    { domain: 'exa mple.test' },
    { domain: 'example.test:8080' },
    { domain: 'ex\nample.test' },
    { domain: '-bad.test' },
    { domain: '' },
    { path: 5 as unknown as string },
    { domain: ['example.test'] as unknown as string },
    { httpOnly: 'yes' as unknown as boolean },
    { persistent: 1 as unknown as boolean },
    { secure: 'always' as unknown as boolean },
    { name: 7 as unknown as string },
  ];
  const cases = bad.map((cookie) => [JSON.stringify(cookie), cookie] as const);
  it.each(cases)('kvSession({ cookie: %s }) throws ERR_KVSESSION_BAD_OPTION', (_, cookie) => {
    expect(codeOf(() => kvSession({ secret: TEST_SECRET, cookie }))).toBe(
      'ERR_KVSESSION_BAD_OPTION',
    );
  });

  it('a non-object cookie option throws ERR_KVSESSION_BAD_OPTION', () => {
    expect(
      codeOf(() => kvSession({ secret: TEST_SECRET, cookie: 'sid' as unknown as CookieOptions })),
    ).toBe('ERR_KVSESSION_BAD_OPTION');
  });

  it('valid paths and domains are accepted and sent as given', async () => {
    const { client } = await setup({ cookie: { path: '/app/v1', domain: '.example.test' } });
    const line = (await client.post('/set/x/1')).rawSetCookies[0] as string;
    expect(attributes(line)).toEqual([
      'domain=.example.test',
      'httponly',
      'path=/app/v1',
      'samesite=lax',
    ]);
  });

  it.each(['__host-sid', '__HOST-sid', '__HoSt-sid'])(
    'a %s name (any case) forces Secure, Path=/ and no Domain',
    (name) => {
      const resolved = resolveCookieOptions({
        name,
        path: '/app',
        domain: 'example.test',
        secure: false,
      });
      expect(resolved).toMatchObject({ name, secure: true, path: '/', domain: undefined });
    },
  );

  it.each(['__secure-sid', '__SECURE-sid'])('a %s name (any case) forces Secure', (name) => {
    expect(resolveCookieOptions({ name, secure: false }).secure).toBe(true);
  });
});
