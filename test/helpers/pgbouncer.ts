import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATABASE_URL, probeTcp } from './services.js';

/** Debian's pgbouncer binary and the default configuration its package installs. */
export const PGBOUNCER_BIN = '/usr/sbin/pgbouncer';
const DEBIAN_INI = '/etc/pgbouncer/pgbouncer.ini';
// Only a guard against a PgBouncer that never listens; not a speed assertion.
const START_LIMIT_MS = 10_000;

/** A PgBouncer this test process started, and the database URL that goes through it. */
export interface PgBouncer {
  readonly url: string;
  /** Stops the process and removes its config directory. */
  stop(): Promise<void>;
}

/** Settings a test gives PgBouncer beyond the packaged defaults. */
export interface PgBouncerSettings {
  readonly port: number;
  readonly poolMode: 'session' | 'transaction';
  readonly defaultPoolSize?: number;
}

/**
 * Debian's packaged pgbouncer.ini, changed only where a test must: the [databases] line (our
 * Postgres), where it listens and logs, trust auth for the test user, and the pool mode. Nothing
 * else (no ignore_startup_parameters, no server-side timeouts), so what passes here passes on a
 * stock install.
 */
function configText(settings: PgBouncerSettings, dir: string): string {
  const base = existsSync(DEBIAN_INI)
    ? readFileSync(DEBIAN_INI, 'utf8')
    : '[databases]\n[pgbouncer]\n';
  const target = new URL(DATABASE_URL);
  const db = target.pathname.slice(1);
  const overrides: Record<string, string> = {
    logfile: '',
    pidfile: '',
    listen_addr: '127.0.0.1',
    listen_port: String(settings.port),
    unix_socket_dir: '',
    auth_type: 'trust',
    auth_file: join(dir, 'userlist.txt'),
    pool_mode: settings.poolMode,
    ...(settings.defaultPoolSize === undefined
      ? {}
      : { default_pool_size: String(settings.defaultPoolSize) }),
  };
  const lines = base.split('\n').filter((line) => {
    const key = /^\s*([a-z_]+)\s*=/.exec(line)?.[1];
    return key === undefined || !(key in overrides);
  });
  const dbLine = `${db} = host=${target.hostname} port=${target.port || '5432'} dbname=${db}`;
  const out: string[] = [];
  for (const line of lines) {
    out.push(line);
    if (/^\s*\[databases\]/.test(line)) out.push(dbLine);
    if (/^\s*\[pgbouncer\]/.test(line))
      for (const [key, value] of Object.entries(overrides)) out.push(`${key} = ${value}`);
  }
  return out.join('\n');
}

/** Starts PgBouncer on 127.0.0.1:`port` in front of DATABASE_URL; resolves once it accepts connections. */
export async function startPgBouncer(settings: PgBouncerSettings): Promise<PgBouncer> {
  const dir = mkdtempSync(join(tmpdir(), 'kvsession-pgbouncer-'));
  // PgBouncer refuses to run as root; as root it is started with -u postgres, which must read the files.
  chmodSync(dir, 0o755);
  const user = new URL(DATABASE_URL).username || 'postgres';
  writeFileSync(join(dir, 'userlist.txt'), `"${user}" ""\n`, { mode: 0o644 });
  writeFileSync(join(dir, 'pgbouncer.ini'), configText(settings, dir), { mode: 0o644 });
  const asRoot = process.getuid?.() === 0;
  const args = [...(asRoot ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')];
  const child = spawn(PGBOUNCER_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr
    ?.setEncoding('utf8')
    .on('data', (chunk: string) => (log = (log + chunk).slice(-4000)));
  const url = new URL(DATABASE_URL);
  url.host = `127.0.0.1:${settings.port}`;
  const stop = (): Promise<void> =>
    stopChild(child).finally(() => rmSync(dir, { recursive: true, force: true }));
  const deadline = Date.now() + START_LIMIT_MS;
  while ((await probeTcp(url.href)) !== undefined) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`pgbouncer did not start on port ${settings.port}: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url: url.href, stop };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGINT'); // PgBouncer's immediate shutdown
  });
}
