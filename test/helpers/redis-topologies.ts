import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { probeTcp } from './services.js';

/*
 * Real Redis topologies for the tests, each on fixed loopback ports of its own: a Cluster of
 * 3 masters + 3 replicas, a Sentinel set (master, replica, 3 sentinels) and a mutual-TLS server
 * with a throw-away CA. Every process is a child of the test process, stopped by stop() in
 * afterAll and, should the worker die first, SIGKILLed on exit.
 */

const run = promisify(execFile);
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

// redis-cli flags for ports that speak only TLS (filled as TLS nodes are set up).
const cliTls = new Map<number, string[]>();

/** Runs redis-cli against a local port (over TLS if that node speaks TLS); resolves its stdout. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const target = ['-h', '127.0.0.1', '-p', String(port), ...(cliTls.get(port) ?? [])];
  return (await run('redis-cli', [...target, ...args], { timeout: 10_000 })).stdout;
}

/** redis-server flags that make a node speak only TLS on `port` (replication and cluster bus too), requiring client certificates. */
function tlsArgs(port: number, certs: TestCertificates): string[] {
  cliTls.set(port, [
    '--tls',
    '--cacert',
    certs.ca,
    '--cert',
    certs.clientCert,
    '--key',
    certs.clientKey,
  ]);
  return [
    ...[
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--tls-cert-file',
      certs.serverCert,
      '--tls-key-file',
      certs.serverKey,
    ],
    ...['--tls-ca-cert-file', certs.ca, '--tls-auth-clients', 'yes', '--tls-replication', 'yes'],
  ];
}

/** Polls `check` every 100 ms until it resolves true; throws `what` after `ms`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  ms = 20_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** One redis-server (or sentinel) child on a fixed port, which a test may kill and start again. */
export class RedisNode {
  readonly port: number;
  readonly #args: string[];
  #child: ChildProcess | undefined;

  constructor(port: number, args: string[]) {
    this.port = port;
    this.#args = args;
  }

  /** Starts the process and waits until its port accepts connections. */
  async start(): Promise<void> {
    if (this.#child !== undefined) throw new Error(`redis on ${this.port} is already running`);
    if ((await probeTcp(`redis://127.0.0.1:${this.port}`)) === undefined) {
      throw new Error(
        `port ${this.port} is already in use (a redis left over from an earlier run?)`,
      );
    }
    const child = spawn('redis-server', this.#args, { stdio: 'ignore' });
    this.#child = child;
    children.add(child);
    child.once('exit', () => {
      children.delete(child);
      if (this.#child === child) this.#child = undefined;
    });
    await waitFor(
      `redis-server on port ${this.port}`,
      async () => {
        if (child.exitCode !== null)
          throw new Error(`redis-server on port ${this.port} exited with ${child.exitCode}`);
        return (await probeTcp(`redis://127.0.0.1:${this.port}`)) === undefined;
      },
      10_000,
    );
  }

  /** SIGKILLs the process (clients see the connection drop, nothing is flushed) and waits for its exit. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }
}

/** Options every data node gets: loopback only, nothing persisted but what the test asks for. */
function dataNodeArgs(port: number, dir: string): string[] {
  return [
    ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    ...['--dir', dir, '--dbfilename', `dump-${port}.rdb`],
  ];
}

/** A running topology: its nodes, a URL for the store, a temp dir, and stop(). */
export interface Topology {
  readonly url: string;
  readonly nodes: readonly RedisNode[];
  readonly dir: string;
  stop(): Promise<void>;
}

function topology(url: string, nodes: RedisNode[], dir: string): Topology {
  return {
    url,
    nodes,
    dir,
    stop: async () => {
      await Promise.all(nodes.map((node) => node.kill()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts a 6-node cluster (3 masters with one replica each) on `ports`; `nodeTimeoutMs` sets how fast a dead master is failed over. */
export async function startCluster(
  ports: readonly number[],
  nodeTimeoutMs = 2000,
  certs?: TestCertificates,
): Promise<Topology> {
  const dir = mkdtempSync(join(tmpdir(), 'kvsession-cluster-'));
  const nodes = ports.map(
    (port) =>
      new RedisNode(port, [
        ...dataNodeArgs(port, dir),
        ...[
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--cluster-node-timeout',
          String(nodeTimeoutMs),
        ],
        ...(certs === undefined ? [] : [...tlsArgs(port, certs), '--tls-cluster', 'yes']),
      ]),
  );
  const scheme = certs === undefined ? 'redis-cluster' : 'rediss-cluster';
  const started = topology(
    `${scheme}://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`,
    nodes,
    dir,
  );
  try {
    await Promise.all(nodes.map((node) => node.start()));
    const create = [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    ];
    await run('redis-cli', [...(cliTls.get(ports[0] as number) ?? []), ...create], {
      timeout: 30_000,
    });
    for (const port of ports) {
      await waitFor(`cluster_state:ok on ${port}`, async () =>
        (await redisCli(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'),
      );
    }
    // Replicas must have synced, or a failover test could lose what was written before the first sync.
    await waitFor('every replica in sync', async () => {
      const roles = await Promise.all(ports.map((port) => redisCli(port, 'INFO', 'replication')));
      return (
        roles.filter(
          (info) => info.includes('role:slave') && info.includes('master_link_status:up'),
        ).length === 3
      );
    });
    return started;
  } catch (err) {
    await started.stop();
    throw err;
  }
}

/** The masters of a cluster as CLUSTER NODES reports them: port, and the port of its replica. */
export async function clusterMasters(
  anyPort: number,
): Promise<Array<{ port: number; id: string; replicaPort: number | undefined }>> {
  const lines = (await redisCli(anyPort, 'CLUSTER', 'NODES'))
    .trim()
    .split('\n')
    .map((line) => line.split(' '));
  const port = (fields: string[]): number => Number(/:(\d+)@/.exec(fields[1] ?? '')?.[1]);
  const masters = lines.filter(
    (f) => (f[2] ?? '').split(',').includes('master') && !(f[2] ?? '').includes('fail'),
  );
  return masters.map((m) => {
    const replica = lines.find((f) => f[3] === m[0]);
    return {
      port: port(m),
      id: m[0] ?? '',
      replicaPort: replica === undefined ? undefined : port(replica),
    };
  });
}

/** The Sentinel master name the sentinel topology monitors. */
export const SENTINEL_MASTER = 'kvmaster';

/**
 * Starts a master (ports[0]), its replica (ports[1]) and three sentinels (ports[2..4]) with a
 * quorum of 2; `downAfterMs` is how long a master must be silent before the sentinels fail it over.
 */
export async function startSentinelSet(
  ports: readonly number[],
  downAfterMs = 1000,
  certs?: TestCertificates,
): Promise<Topology> {
  const [masterPort, replicaPort, ...sentinelPorts] = ports as [
    number,
    number,
    number,
    number,
    number,
  ];
  const dir = mkdtempSync(join(tmpdir(), 'kvsession-sentinel-'));
  const tls = (port: number): string[] => (certs === undefined ? [] : tlsArgs(port, certs));
  const master = new RedisNode(masterPort, [...dataNodeArgs(masterPort, dir), ...tls(masterPort)]);
  const replicaOf = ['--replicaof', '127.0.0.1', String(masterPort)];
  const replica = new RedisNode(replicaPort, [
    ...dataNodeArgs(replicaPort, dir),
    ...tls(replicaPort),
    ...replicaOf,
  ]);
  const sentinels = sentinelPorts.map((port) => {
    // A sentinel rewrites its config file as it learns the topology, so each gets its own.
    const conf = join(dir, `sentinel-${port}.conf`);
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${masterPort} 2`,
        `sentinel down-after-milliseconds ${SENTINEL_MASTER} ${downAfterMs}`,
        `sentinel failover-timeout ${SENTINEL_MASTER} 5000`,
        `sentinel parallel-syncs ${SENTINEL_MASTER} 1`,
        '',
      ].join('\n'),
    );
    return new RedisNode(port, [conf, '--sentinel', ...tls(port)]);
  });
  const nodes = [master, replica, ...sentinels];
  const hosts = sentinelPorts.map((p) => `127.0.0.1:${p}`).join(',');
  const url = `${certs === undefined ? 'redis' : 'rediss'}-sentinel://${hosts}/${SENTINEL_MASTER}`;
  const started = topology(url, nodes, dir);
  try {
    await master.start();
    await replica.start();
    const synced = async (): Promise<boolean> =>
      (await redisCli(replicaPort, 'INFO', 'replication')).includes('master_link_status:up');
    await waitFor('the replica in sync', synced);
    await Promise.all(sentinels.map((s) => s.start()));
    // Every sentinel must know the replica and the two other sentinels, or a failover cannot reach quorum.
    for (const port of sentinelPorts) {
      await waitFor(`sentinel ${port} to see the whole set`, async () => {
        const info = await redisCli(port, 'SENTINEL', 'MASTER', SENTINEL_MASTER);
        return /num-slaves\n1\n/.test(info) && /num-other-sentinels\n2\n/.test(info);
      });
    }
    return started;
  } catch (err) {
    await started.stop();
    throw err;
  }
}

/** The port Sentinel currently names as master. */
export async function sentinelMasterPort(sentinelPort: number): Promise<number> {
  const reply = (
    await redisCli(sentinelPort, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_MASTER)
  )
    .trim()
    .split('\n');
  return Number(reply[1]);
}

/** PEM files of a throw-away CA, a server certificate for 127.0.0.1/localhost and a client certificate. */
export interface TestCertificates {
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

/** Makes the certificates with the openssl CLI (EC keys: fast even on a loaded machine); resolves their paths. */
export async function makeCertificates(dir: string): Promise<TestCertificates> {
  const file = (name: string): string => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=test CA',
  ]);
  writeFileSync(file('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  for (const who of ['server', 'client']) {
    await run('openssl', [
      'req',
      ...ec,
      '-keyout',
      file(`${who}.key`),
      '-out',
      file(`${who}.csr`),
      '-subj',
      `/CN=kvsession test ${who}`,
    ]);
    const ext = who === 'server' ? ['-extfile', file('server.ext')] : [];
    const ca = ['-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial'];
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      file(`${who}.csr`),
      ...ca,
      '-out',
      file(`${who}.crt`),
      '-days',
      '2',
      ...ext,
    ]);
  }
  return {
    ca: file('ca.crt'),
    serverCert: file('server.crt'),
    serverKey: file('server.key'),
    clientCert: file('client.crt'),
    clientKey: file('client.key'),
  };
}

/** Starts a Redis that speaks only TLS on `port` and requires a client certificate signed by the test CA. */
export async function startTlsRedis(
  port: number,
): Promise<Topology & { readonly certs: TestCertificates }> {
  const dir = mkdtempSync(join(tmpdir(), 'kvsession-tls-'));
  const started = topology(`rediss://127.0.0.1:${port}`, [], dir);
  try {
    const certs = await makeCertificates(dir);
    const node = new RedisNode(port, [
      ...dataNodeArgs(port, dir),
      ...[
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--tls-cert-file',
        certs.serverCert,
        '--tls-key-file',
        certs.serverKey,
      ],
      ...['--tls-ca-cert-file', certs.ca, '--tls-auth-clients', 'yes'],
      // TLS 1.2: a client without a certificate is refused inside the handshake. Under TLS 1.3 the refusal
      // arrives after it, as two socket errors, and node-redis 5 listens for only one (an uncaught
      // ECONNRESET in the test run); that defect is node-redis's and is noted in docs/deploying-redis.md.
      ...['--tls-protocols', 'TLSv1.2'],
    ]);
    await node.start();
    return { ...topology(started.url, [node], dir), certs };
  } catch (err) {
    await started.stop();
    throw err;
  }
}
