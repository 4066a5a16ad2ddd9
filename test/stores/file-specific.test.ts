import { randomBytes } from 'node:crypto';
import {
  chmod,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Keyv from 'keyv';
import { createFileStore, type FileStore } from '../../stores/file.js';
import {
  KeyvFileStore,
  fileNameOf,
  fileUrlToDir,
  parseFileName,
} from '../../stores/file-records.js';
import { isKvSessionError } from '../../src/errors.js';

const HOUR = 3_600_000;
let dir: string;
let stores: FileStore[];

beforeEach(async () => {
  dir = join(await mkdtemp(join(tmpdir(), 'kvsession-file-')), 'sessions');
  stores = [];
});
afterEach(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await rm(resolve(dir, '..'), { recursive: true, force: true });
});

function open(prefix = 'sess:', at = dir): FileStore {
  const store = createFileStore({ dir: at, prefix });
  stores.push(store);
  return store;
}

const key = (): string => randomBytes(32).toString('base64url');
const recordPath = (fullKey: string): string => join(dir, fileNameOf(fullKey));
const errorCode = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => 'resolved',
    (err: unknown) => (isKvSessionError(err) ? err.code : err),
  );

describe('file layout', () => {
  it('createFileStore(options) touches no disk until the first write, then makes an owner-only directory', async () => {
    const store = open();
    expect(await store.get(key())).toBeUndefined();
    await expect(stat(dir)).rejects.toMatchObject({ code: 'ENOENT' });
    const k = key();
    expect(await store.create(k, 'v', Date.now() + HOUR)).toBe(true);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(recordPath('sess:' + k))).mode & 0o777).toBe(0o600);
  });

  it('create(key) writes one file per session holding keyv\'s {"value","expires"} envelope', async () => {
    const store = open();
    const [a, b] = [key(), key()];
    const expiresAt = Date.now() + HOUR;
    await store.create(a, '{"n":1}', expiresAt);
    await store.create(b, 'two', expiresAt);
    expect((await readdir(dir)).sort()).toEqual(
      [fileNameOf('sess:' + a), fileNameOf('sess:' + b)].sort(),
    );
    expect(JSON.parse(await readFile(recordPath('sess:' + a), 'utf8'))).toEqual({
      value: '{"n":1}',
      expires: expiresAt,
    });
  });

  it('create/update/touch/delete leave no temp file behind once they resolve', async () => {
    const store = open();
    const keys = Array.from({ length: 10 }, key);
    for (const k of keys) {
      await store.create(k, 'a', Date.now() + HOUR);
      await store.update(k, 'a', 'b', Date.now() + HOUR);
      await store.touch(k, Date.now() + 2 * HOUR);
    }
    await store.delete(keys[0] as string);
    const names = await readdir(dir);
    expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(names.length).toBe(9);
  });

  it('fileNameOf(key) keeps keys that differ only in case apart on case-insensitive file systems', () => {
    const names = ['sess:Ab', 'sess:aB', 'sess:ab', 'sess:AB'].map(fileNameOf);
    expect(new Set(names.map((n) => n.toLowerCase())).size).toBe(4);
    expect(names[2]).toBe('sess%3Aab');
  });

  it('fileNameOf(key) never yields a dot name, a path separator or a temp name, and parseFileName inverts it', () => {
    for (const full of ['.', '..', '.x.0123456789abcdef.tmp', 'a/b\\c', 'ü:日本🎉', "!'()*~%"]) {
      const name = fileNameOf(full);
      expect(name.startsWith('.')).toBe(false);
      expect(name).not.toMatch(/[/\\]/);
      expect(parseFileName(name)).toEqual({ fullKey: full, temp: false });
    }
  });
});

describe('debris and failures', () => {
  it("prune() deletes this prefix's temp files older than 5 s and keeps fresh or foreign ones", async () => {
    const store = open('a:');
    const k = key();
    await store.create(k, 'live', Date.now() + HOUR);
    const temp = (full: string): string =>
      join(dir, `.${fileNameOf(full)}.${randomBytes(8).toString('hex')}.tmp`);
    const [stale, fresh, foreign] = [temp('a:' + k), temp('a:' + key()), temp('b:' + key())];
    for (const path of [stale, fresh, foreign]) await writeFile(path, '{"value":"to');
    const old = new Date(Date.now() - 60_000);
    await utimes(stale, old, old);
    await utimes(foreign, old, old);
    expect(await store.prune()).toBe(0);
    const names = new Set(await readdir(dir));
    expect([stale, fresh, foreign].map((p) => names.has(p.slice(dir.length + 1)))).toEqual([
      false,
      true,
      true,
    ]);
    expect(await store.get(k)).toEqual({ value: 'live', expiresAt: expect.any(Number) });
  });

  it('get(key) of a torn or garbage record resolves undefined; create replaces it and prune counts it', async () => {
    const store = open();
    const [torn, garbage, wrongType] = [key(), key(), key()];
    await mkdir(dir);
    await writeFile(recordPath('sess:' + torn), '{"value":"half a rec');
    await writeFile(recordPath('sess:' + garbage), Buffer.from([0xff, 0x00, 0x13]));
    await writeFile(recordPath('sess:' + wrongType), '{"value":{"x":1},"expires":99999999999999}');
    for (const k of [torn, garbage, wrongType]) expect(await store.get(k)).toBeUndefined();
    expect(await store.count()).toBe(0);
    expect(await store.create(torn, 'fresh', Date.now() + HOUR)).toBe(true);
    expect(await store.get(torn)).toMatchObject({ value: 'fresh' });
    expect(await store.prune()).toBe(2);
    expect(await readdir(dir)).toEqual([fileNameOf('sess:' + torn)]);
  });

  it('update(key, expected) from 50 concurrent CAS loops on one key loses no increment and leaks no queue entry', async () => {
    const store = open();
    const k = key();
    await store.create(k, '0', Date.now() + HOUR);
    let conflicts = 0;
    const increment = async (): Promise<void> => {
      for (;;) {
        const current = await store.get(k);
        if (current === undefined) throw new Error('record vanished');
        if (
          await store.update(k, current.value, String(Number(current.value) + 1), Date.now() + HOUR)
        )
          return;
        conflicts++;
      }
    };
    await Promise.all(Array.from({ length: 50 }, increment));
    expect(await store.get(k)).toMatchObject({ value: '50' });
    expect(conflicts).toBeGreaterThan(0);
    expect(store.pending).toBe(0);
  });

  it('create(key) from two store instances on one directory at once: exactly one resolves true', async () => {
    // Two instances have separate queues, as two processes would; the kernel's link() decides.
    const [a, b] = [open(), open()];
    for (let i = 0; i < 20; i++) {
      const k = key();
      const results = await Promise.all([
        a.create(k, 'a', Date.now() + HOUR),
        b.create(k, 'b', Date.now() + HOUR),
      ]);
      expect(results.filter(Boolean).length).toBe(1);
      expect(await a.get(k)).toMatchObject({ value: results[0] ? 'a' : 'b' });
    }
  });

  it('every operation rejects with ERR_KVSESSION_STORE_UNAVAILABLE when a file stands where the directory should', async () => {
    const file = join(resolve(dir, '..'), 'not-a-dir');
    await writeFile(file, 'x');
    const store = open('sess:', file);
    const k = key();
    const outcomes = await Promise.all([
      errorCode(store.get(k)),
      errorCode(store.create(k, 'v', Date.now() + HOUR)),
      errorCode(store.update(k, 'v', 'w', Date.now() + HOUR)),
      errorCode(store.touch(k, Date.now() + HOUR)),
      errorCode(store.delete(k)),
      errorCode(store.prune()),
      errorCode(store.count()),
      errorCode(store.clear()),
    ]);
    expect(outcomes).toEqual(Array(8).fill('ERR_KVSESSION_STORE_UNAVAILABLE'));
  });

  it('get(key) rejects with ERR_KVSESSION_STORE_UNAVAILABLE when the record path is a directory (EISDIR)', async () => {
    const store = open();
    const k = key();
    await mkdir(recordPath('sess:' + k), { recursive: true });
    expect(await errorCode(store.get(k))).toBe('ERR_KVSESSION_STORE_UNAVAILABLE');
  });

  // Root reads any directory, so EACCES cannot happen as root (CI runs as root): the test exists only
  // for other users; the ENOTDIR/EISDIR tests above prove the same "an error is never not-found" rule.
  if (process.getuid?.() !== 0)
    it('get(key) rejects with ERR_KVSESSION_STORE_UNAVAILABLE on an unreadable directory', async () => {
      const store = open();
      await store.create(key(), 'v', Date.now() + HOUR);
      await chmod(dir, 0o000);
      try {
        expect(await errorCode(store.get(key()))).toBe('ERR_KVSESSION_STORE_UNAVAILABLE');
      } finally {
        await chmod(dir, 0o700);
      }
    });

  it("clear() deletes this prefix's records only, leaving other prefixes and foreign files", async () => {
    const [mine, other] = [open('app:'), open('app2:')];
    const [k1, k2] = [key(), key()];
    await mine.create(k1, 'm', Date.now() + HOUR);
    await other.create(k2, 'o', Date.now() + HOUR);
    await writeFile(join(dir, 'README'), 'not a record');
    await mine.clear();
    expect(await mine.get(k1)).toBeUndefined();
    expect(await other.get(k2)).toMatchObject({ value: 'o' });
    expect((await readdir(dir)).sort()).toEqual(['README', fileNameOf('app2:' + k2)].sort());
  });

  it('createFileStore({ fsync: true }) writes and rewrites records', async () => {
    const store = createFileStore({ dir, fsync: true });
    stores.push(store);
    const k = key();
    expect(await store.create(k, 'a', Date.now() + HOUR)).toBe(true);
    expect(await store.update(k, 'a', 'b', Date.now() + HOUR)).toBe(true);
    expect(await store.get(k)).toMatchObject({ value: 'b' });
  });
});

describe('file: URLs', () => {
  it('fileUrlToDir(url) resolves relative, absolute and localhost forms', () => {
    expect(fileUrlToDir('file:./sessions')).toBe(resolve(process.cwd(), 'sessions'));
    expect(fileUrlToDir('file:sessions/x')).toBe(resolve(process.cwd(), 'sessions/x'));
    expect(fileUrlToDir('file://./sessions')).toBe(resolve(process.cwd(), 'sessions'));
    expect(fileUrlToDir('file:../up')).toBe(resolve(process.cwd(), '../up'));
    expect(fileUrlToDir('file:///var/lib/app%20sessions')).toBe('/var/lib/app sessions');
    expect(fileUrlToDir('FILE:///abs')).toBe('/abs');
    expect(fileUrlToDir('file://localhost/abs/dir')).toBe('/abs/dir');
    expect(fileUrlToDir('file:/abs/dir')).toBe('/abs/dir');
  });

  it('fileUrlToDir(url) throws ERR_KVSESSION_BAD_STORE_URL for a remote host, no path, bad escapes or another scheme', () => {
    for (const url of [
      'file://server/share',
      'file:',
      'file://',
      'file:./%E0%A4%A',
      'http://x/y',
    ]) {
      expect(() => fileUrlToDir(url), url).toThrow(
        expect.objectContaining({ code: 'ERR_KVSESSION_BAD_STORE_URL' }),
      );
    }
  });

  it('createFileStore(url | { url } | path) resolves the same directory; no location or both throw ERR_KVSESSION_BAD_OPTION', () => {
    const abs = resolve(dir);
    expect(createFileStore(`file://${abs}`).dir).toBe(abs);
    expect(createFileStore({ url: `file://${abs}`, prefix: 'p:' })).toMatchObject({
      dir: abs,
      prefix: 'p:',
    });
    expect(createFileStore(abs)).toMatchObject({ dir: abs, prefix: 'sess:' });
    expect(() => createFileStore({})).toThrow(
      expect.objectContaining({ code: 'ERR_KVSESSION_BAD_OPTION' }),
    );
    expect(() => createFileStore({ dir: abs, url: 'file:./x' })).toThrow(
      expect.objectContaining({ code: 'ERR_KVSESSION_BAD_OPTION' }),
    );
  });
});

describe('KeyvFileStore', () => {
  it('new Keyv({ store: new KeyvFileStore(dir) }) sets, gets, expires, deletes and clears its namespace only', async () => {
    const keyv = new Keyv({
      store: new KeyvFileStore({ dir }),
      namespace: 'one',
      throwOnErrors: true,
    });
    const other = new Keyv({
      store: new KeyvFileStore(`file://${resolve(dir)}`),
      namespace: 'two',
      throwOnErrors: true,
    });
    await keyv.set('a', { n: 1 });
    await keyv.set('short', 'x', 1);
    await other.set('a', 'kept');
    expect(await keyv.get('a')).toEqual({ n: 1 });
    await new Promise((r) => setTimeout(r, 5));
    expect(await keyv.get('short')).toBeUndefined();
    expect(await keyv.delete('a')).toBe(true);
    expect(await keyv.delete('a')).toBe(false);
    await keyv.set('b', 2);
    await keyv.clear();
    expect(await keyv.get('b')).toBeUndefined();
    expect(await other.get('a')).toBe('kept');
  });

  it('KeyvFileStore.set(key, object) rejects with ERR_KVSESSION_BAD_ARGUMENT: it stores serialized text only', async () => {
    const adapter = new KeyvFileStore({ dir });
    expect(await errorCode(adapter.set('k', { value: 1 }))).toBe('ERR_KVSESSION_BAD_ARGUMENT');
  });
});
