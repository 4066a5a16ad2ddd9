import { createHash } from 'node:crypto';
import * as crypto from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { createSessionId, isSessionId, storeKeyFor, ID_BYTES } from '../src/id.js';
import type { StoreEntry } from '../src/store.js';
import { MemoryStore } from '../stores/memory.js';
import { startApp } from './helpers/app.js';
import { mountSessionRoutes } from './helpers/routes.js';

vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return { ...real, randomBytes: vi.fn(real.randomBytes) };
});

describe('createSessionId()', () => {
  it('returns 43 base64url characters encoding 32 bytes', () => {
    const id = createSessionId();
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(id, 'base64url')).toHaveLength(32);
    expect(ID_BYTES).toBe(32);
  });

  it('draws its 32 bytes from node:crypto randomBytes (the CSPRNG)', () => {
    const spy = vi.mocked(crypto.randomBytes);
    spy.mockClear();
    const id = createSessionId();
    expect(spy).toHaveBeenCalledTimes(1);
    expect(spy).toHaveBeenCalledWith(32);
    const bytes = spy.mock.results[0]?.value as Buffer;
    expect(bytes.toString('base64url')).toBe(id);
  });

  it('returns 20,000 distinct IDs in 20,000 calls', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20_000; i++) ids.add(createSessionId());
    expect(ids.size).toBe(20_000);
  });
});

describe('isSessionId(id)', () => {
  it('accepts exactly the shape createSessionId produces', () => {
    expect(isSessionId(createSessionId())).toBe(true);
    expect(isSessionId(createSessionId().slice(1))).toBe(false);
    expect(isSessionId(`${createSessionId()}A`)).toBe(false);
    expect(isSessionId(`${createSessionId().slice(1)}=`)).toBe(false);
    expect(isSessionId(`${createSessionId().slice(1)}+`)).toBe(false);
  });
});

describe('storeKeyFor(prefix, id)', () => {
  it('is the prefix followed by the base64url SHA-256 of the id', () => {
    const id = createSessionId();
    expect(storeKeyFor('sess:', id)).toBe(
      `sess:${createHash('sha256').update(id).digest('base64url')}`,
    );
  });
});

describe('what the store holds', () => {
  it('keys are prefix + SHA-256(id), and the raw ID appears in no key or value', async () => {
    const map = new Map<string, StoreEntry>();
    const store = new MemoryStore({ map, prefix: 'app:' });
    const t = await startApp({
      session: { store },
      routes: (app) => {
        mountSessionRoutes(app);
        app.post('/login', async (req, res) => {
          await req.session.login('user-7');
          res.json({ ok: true });
        });
      },
    });
    const seen: string[] = [];
    const idOf = (client: { cookie(): string | undefined }): string => {
      const cookie = client.cookie() as string;
      const id = cookie.slice(0, cookie.lastIndexOf('.'));
      seen.push(id, cookie);
      return id;
    };
    const a = t.client();
    await a.post('/set/x/1');
    const idA = idOf(a);
    const b = t.client();
    await b.post('/set/secret/value');
    idOf(b);
    await b.post('/regenerate');
    idOf(b);
    await b.post('/login');
    const idB = idOf(b);

    expect(map.has(`app:${createHash('sha256').update(idA).digest('base64url')}`)).toBe(true);
    expect(map.has(`app:${createHash('sha256').update(idB).digest('base64url')}`)).toBe(true);
    // Two sessions plus b's per-user index: its head and one slot.
    expect(map.size).toBe(4);
    const dump = [...map].map(([key, entry]) => `${key}\n${entry.value}`).join('\n');
    expect(dump).toContain('"x":"1"');
    for (const secretThing of seen) expect(dump).not.toContain(secretThing);
    expect(seen).toHaveLength(8);
  });
});
