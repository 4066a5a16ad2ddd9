import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'redis';
import { runStoreConformance } from '../conformance/index.js';
import { createRedisStore } from '../../stores/redis.js';
import type { RedisTlsOptions } from '../../stores/redis-config.js';
import type { TestCertificates, Topology } from '../helpers/redis-topologies.js';
import { startTlsRedis } from '../helpers/redis-topologies.js';
import { randomPrefix } from '../helpers/services.js';

// Our own Redis speaking only TLS on port 7021, with a throw-away CA and required client certificates.
const PORT = 7021;
const HOUR = 3_600_000;
let server: Topology & { readonly certs: TestCertificates };
let tls: RedisTlsOptions;

beforeAll(async () => {
  server = await startTlsRedis(PORT);
  const pem = (path: string): string => readFileSync(path, 'utf8');
  tls = { ca: pem(server.certs.ca), cert: pem(server.certs.clientCert), key: pem(server.certs.clientKey) };
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

describe('redis store over mutual TLS (rediss:// + tls: { ca, cert, key })', () => {
  runStoreConformance(it, ({ prefix }) => createRedisStore({ url: server.url, tls, prefix }));
});

describe('redis store over TLS: what is checked', () => {
  const roundTrip = async (options: Parameters<typeof createRedisStore>[0]): Promise<unknown> => {
    const store = createRedisStore(options);
    try {
      return await store.create(randomBytes(16).toString('base64url'), 'v', Date.now() + HOUR);
    } finally {
      await store.clear().catch(() => undefined);
      await store.close();
    }
  };

  it('servername selects the name checked against the certificate: "localhost" passes, another name fails', async () => {
    expect(await roundTrip({ url: server.url, tls: { ...tls, servername: 'localhost' }, prefix: randomPrefix('tls'), timeout: 1000 })).toBe(true);
    await expect(roundTrip({ url: server.url, tls: { ...tls, servername: 'elsewhere.example' }, prefix: randomPrefix('tls'), timeout: 1000 })).rejects.toMatchObject({
      code: expect.stringMatching(/^ERR_KVSESSION_STORE_(UNAVAILABLE|TIMEOUT)$/),
    });
  });

  it('without the client certificate the server refuses the store, which fails with a store code (no hang)', async () => {
    await expect(roundTrip({ url: server.url, tls: { ca: tls.ca as string }, prefix: randomPrefix('tls'), timeout: 1000 })).rejects.toMatchObject({
      code: expect.stringMatching(/^ERR_KVSESSION_STORE_(UNAVAILABLE|TIMEOUT)$/),
    });
  });

  it('without the CA the server certificate is not trusted and the store fails with a store code', async () => {
    const { cert, key } = tls as { cert: string; key: string };
    await expect(roundTrip({ url: server.url, tls: { cert, key }, prefix: randomPrefix('tls'), timeout: 1000 })).rejects.toMatchObject({
      code: expect.stringMatching(/^ERR_KVSESSION_STORE_(UNAVAILABLE|TIMEOUT)$/),
    });
  });

  it('tls options with a plain redis:// URL throw ERR_KVSESSION_BAD_OPTION instead of being ignored', () => {
    expect(() => createRedisStore({ url: `redis://127.0.0.1:${PORT}`, tls })).toThrow(expect.objectContaining({ code: 'ERR_KVSESSION_BAD_OPTION' }));
  });

  it('a TLS client the app built is used as it is (createRedisStore({ client }))', async () => {
    const client = createClient({ url: server.url, socket: { tls: true, ca: tls.ca as string, cert: tls.cert as string, key: tls.key as string } });
    client.on('error', () => undefined);
    await client.connect();
    try {
      expect(await roundTrip({ client, prefix: randomPrefix('tls') })).toBe(true);
      expect(client.isOpen).toBe(true);
    } finally {
      client.destroy();
    }
  });
});
