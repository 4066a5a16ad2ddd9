import { describe, expect, it } from 'vitest';
import { KvSessionError, isKvSessionError, storeUnavailable } from '../src/errors.js';
import { withTimeout, guardStore } from '../src/guarded-store.js';
import { createMemoryStore } from '../stores/memory.js';
import { CountingStore } from './helpers/counting-store.js';

describe('new KvSessionError(code, message, options)', () => {
  it('carries code, status, statusCode and a package-named message', () => {
    const err = new KvSessionError('ERR_KVSESSION_STORE_UNAVAILABLE', 'down', { status: 503 });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('KvSessionError');
    expect(err.code).toBe('ERR_KVSESSION_STORE_UNAVAILABLE');
    expect(err.status).toBe(503);
    expect(err.statusCode).toBe(503);
    expect(err.expose).toBe(false);
    expect(err.message.startsWith('kvsession: ')).toBe(true);
    expect(err.stack).toContain('KvSessionError');
  });

  it('has no status when none applies, and keeps a cause only when given', () => {
    const plain = new KvSessionError('ERR_KVSESSION_BAD_OPTION', 'bad');
    expect(plain.status).toBeUndefined();
    expect(plain.statusCode).toBeUndefined();
    expect('cause' in plain).toBe(false);
    const cause = new Error('root');
    expect(new KvSessionError('ERR_KVSESSION_USAGE', 'x', { cause }).cause).toBe(cause);
  });
});

describe('isKvSessionError(err, code?)', () => {
  it('matches the class, and the code when one is given', () => {
    const err = new KvSessionError('ERR_KVSESSION_TOO_LARGE', 'big', { status: 500 });
    expect(isKvSessionError(err)).toBe(true);
    expect(isKvSessionError(err, 'ERR_KVSESSION_TOO_LARGE')).toBe(true);
    expect(isKvSessionError(err, 'ERR_KVSESSION_CONFLICT')).toBe(false);
    expect(
      isKvSessionError(Object.assign(new Error('x'), { code: 'ERR_KVSESSION_TOO_LARGE' })),
    ).toBe(false);
    expect(isKvSessionError(undefined)).toBe(false);
  });
});

describe('storeUnavailable(err, what)', () => {
  it('wraps a foreign error as ERR_KVSESSION_STORE_UNAVAILABLE (503) keeping it as cause', () => {
    const cause = new Error('ECONNREFUSED');
    const err = storeUnavailable(cause, 'get');
    expect(err.code).toBe('ERR_KVSESSION_STORE_UNAVAILABLE');
    expect(err.status).toBe(503);
    expect(err.cause).toBe(cause);
    expect(storeUnavailable('a string', 'get').code).toBe('ERR_KVSESSION_STORE_UNAVAILABLE');
  });

  it('returns a KvSessionError unchanged', () => {
    const timeout = new KvSessionError('ERR_KVSESSION_STORE_TIMEOUT', 't', { status: 503 });
    expect(storeUnavailable(timeout, 'get')).toBe(timeout);
  });
});

describe('withTimeout(store, what, ms, op)', () => {
  it('rejects with ERR_KVSESSION_STORE_TIMEOUT (503) when op does not settle in time', async () => {
    const err = await withTimeout('test', 'get', 20, () => new Promise(() => {})).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'ERR_KVSESSION_STORE_TIMEOUT', status: 503 });
  });

  it('wraps a synchronous throw and a rejection as ERR_KVSESSION_STORE_UNAVAILABLE', async () => {
    const sync = await withTimeout('test', 'get', 1000, () => {
      throw new Error('sync');
    }).catch((e: unknown) => e);
    expect(sync).toMatchObject({ code: 'ERR_KVSESSION_STORE_UNAVAILABLE', status: 503 });
    const async = await withTimeout('test', 'get', 1000, () =>
      Promise.reject(new Error('async')),
    ).catch((e: unknown) => e);
    expect(async).toMatchObject({ code: 'ERR_KVSESSION_STORE_UNAVAILABLE', status: 503 });
  });

  it('resolves with the value of an op that settles in time', async () => {
    await expect(withTimeout('test', 'get', 1000, () => Promise.resolve(42))).resolves.toBe(42);
  });
});

describe('guardStore(store, ms)', () => {
  it('turns every failing or hanging operation into a coded error', async () => {
    const inner = new CountingStore(createMemoryStore());
    const guarded = guardStore(inner, 30);
    inner.fault('all', 'fail');
    await expect(guarded.get('k')).rejects.toMatchObject({
      code: 'ERR_KVSESSION_STORE_UNAVAILABLE',
    });
    await expect(guarded.create('k', 'v', Date.now() + 1000)).rejects.toMatchObject({
      code: 'ERR_KVSESSION_STORE_UNAVAILABLE',
    });
    inner.fault('all', 'hang');
    await expect(guarded.update('k', 'v', 'w', Date.now() + 1000)).rejects.toMatchObject({
      code: 'ERR_KVSESSION_STORE_TIMEOUT',
    });
    await expect(guarded.touch('k', Date.now() + 1000)).rejects.toMatchObject({
      code: 'ERR_KVSESSION_STORE_TIMEOUT',
    });
    await expect(guarded.delete('k')).rejects.toMatchObject({
      code: 'ERR_KVSESSION_STORE_TIMEOUT',
    });
    expect(inner.nonZero()).toEqual({ get: 1, create: 1, update: 1, touch: 1, delete: 1 });
  });

  it('keeps the store closed error code of a closed store', async () => {
    const store = createMemoryStore();
    await store.close();
    await expect(guardStore(store, 1000).get('k')).rejects.toMatchObject({
      code: 'ERR_KVSESSION_STORE_CLOSED',
    });
  });
});
