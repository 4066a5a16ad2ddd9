import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'redis';
import { runStoreConformance } from '../../conformance/index.js';
import { createRedisStore } from '../../stores/redis.js';
import type { RedisTlsOptions } from '../../stores/redis-config.js';
import type { TestCertificates, Topology } from '../helpers/redis-topologies.js';
import {
  makeCertificates,
  startCluster,
  startSentinelSet,
  startTlsRedis,
} from '../helpers/redis-topologies.js';
import { randomPrefix } from '../helpers/services.js';

// Our own Redis speaking only TLS on port 7021, a TLS cluster on 7022-7027 and a TLS Sentinel set on
// 7016-7020, all with throw-away CAs and required client certificates.
const PORT = 7021;
const HOUR = 3_600_000;
let server: Topology & { readonly certs: TestCertificates };
let tls: RedisTlsOptions;
let cluster: Topology;
let sentinel: Topology;
let tlsOfSets: RedisTlsOptions;
const certDir = mkdtempSync(join(tmpdir(), 'kvsession-tls-certs-'));

const pem = (path: string): string => readFileSync(path, 'utf8');
beforeAll(async () => {
  server = await startTlsRedis(PORT);
  tls = {
    ca: pem(server.certs.ca),
    cert: pem(server.certs.clientCert),
    key: pem(server.certs.clientKey),
  };
  const certs = await makeCertificates(certDir);
  tlsOfSets = { ca: pem(certs.ca), cert: pem(certs.clientCert), key: pem(certs.clientKey) };
  [cluster, sentinel] = await Promise.all([
    startCluster([7022, 7023, 7024, 7025, 7026, 7027], 3000, certs),
    startSentinelSet([7016, 7017, 7018, 7019, 7020], 1000, certs),
  ]);
}, 90_000);
afterAll(async () => {
  await Promise.all([server?.stop(), cluster?.stop(), sentinel?.stop()]);
  rmSync(certDir, { recursive: true, force: true });
});

/** A store on a TLS topology, warmed first as kvSession() does (cluster discovery and Sentinel set-up take a while). */
async function warmStore(
  url: string,
  prefix: string,
): Promise<ReturnType<typeof createRedisStore>> {
  const store = createRedisStore({ url, tls: tlsOfSets, prefix });
  await store.warm();
  return store;
}

describe('redis store on a TLS cluster (rediss-cluster:// + tls)', () => {
  runStoreConformance(it, ({ prefix }) => warmStore(cluster.url, prefix));
});

describe('redis store behind TLS Sentinel (rediss-sentinel:// + tls, sentinels and data nodes on TLS)', () => {
  runStoreConformance(it, ({ prefix }) => warmStore(sentinel.url, prefix));
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
    const withName = (servername: string): Promise<unknown> =>
      roundTrip({
        url: server.url,
        tls: { ...tls, servername },
        prefix: randomPrefix('tls'),
        timeout: 1000,
      });
    expect(await withName('localhost')).toBe(true);
    await expect(withName('elsewhere.example')).rejects.toMatchObject({
      code: expect.stringMatching(/^ERR_KVSESSION_STORE_(UNAVAILABLE|TIMEOUT)$/),
    });
  });

  it('without the client certificate the server refuses the store, which fails with a store code (no hang)', async () => {
    const noCert = roundTrip({
      url: server.url,
      tls: { ca: tls.ca as string },
      prefix: randomPrefix('tls'),
      timeout: 1000,
    });
    await expect(noCert).rejects.toMatchObject({
      code: expect.stringMatching(/^ERR_KVSESSION_STORE_(UNAVAILABLE|TIMEOUT)$/),
    });
  });

  it('without the CA the server certificate is not trusted and the store fails with a store code', async () => {
    const { cert, key } = tls as { cert: string; key: string };
    await expect(
      roundTrip({
        url: server.url,
        tls: { cert, key },
        prefix: randomPrefix('tls'),
        timeout: 1000,
      }),
    ).rejects.toMatchObject({
      code: expect.stringMatching(/^ERR_KVSESSION_STORE_(UNAVAILABLE|TIMEOUT)$/),
    });
  });

  it('tls options with a plain redis:// URL throw ERR_KVSESSION_BAD_OPTION instead of being ignored', () => {
    const bad = expect.objectContaining({ code: 'ERR_KVSESSION_BAD_OPTION' });
    expect(() => createRedisStore({ url: `redis://127.0.0.1:${PORT}`, tls })).toThrow(bad);
  });

  it('a TLS client the app built is used as it is (createRedisStore({ client }))', async () => {
    const { ca, cert, key } = tls as { ca: string; cert: string; key: string };
    const client = createClient({ url: server.url, socket: { tls: true, ca, cert, key } });
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
