import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../cli/index.js';
import type { KvSessionMiddleware } from '../src/middleware.js';
import { runCli } from '../cli/index.js';
import { createStore } from '../stores/index.js';
import { kvSession } from '../src/index.js';
import { runFromSource } from './e2e/from-source.js';
import type { ProcessResult } from './e2e/from-source.js';
import { randomPrefix } from './helpers/services.js';

const SECRET = 'cli-test-secret-cli-test-secret-cli-test-secret';
const ONE_CODED_LINE = /^kvsession: (ERR_KVSESSION_[A-Z_]+): [^\n]*\n$/;

/** Runs the CLI as a real child process, from source. */
function cli(...args: string[]): Promise<ProcessResult> {
  return runFromSource('cli/index.ts', args);
}

/** The code in the single stderr line, after checking there is exactly one line and no stack trace. */
function errorCode(stderr: string): string | undefined {
  expect(stderr).toMatch(ONE_CODED_LINE);
  expect(stderr).not.toMatch(/\n\s+at /);
  return ONE_CODED_LINE.exec(stderr)?.[1];
}

/** Runs the CLI in-process, capturing what it writes. */
async function cliInProcess(
  ...args: string[]
): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { out: (t) => (stdout += t + '\n'), err: (t) => (stderr += t + '\n') };
  const status = await runCli(args, io);
  return { status, stdout, stderr };
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'kvsession-cli-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe('kvsession secret', () => {
  it('prints 32 random bytes as base64url, different every run, exit 0', async () => {
    const [a, b] = await Promise.all([cli('secret'), cli('secret')]);
    for (const run of [a, b]) {
      expect(run.status).toBe(0);
      expect(run.stderr).toBe('');
      expect(run.stdout).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
      expect(Buffer.from(run.stdout.trim(), 'base64url')).toHaveLength(32);
    }
    expect(a.stdout).not.toBe(b.stdout);
  });
});

describe('kvsession --help / --version', () => {
  it('--help lists every command, exit 0', async () => {
    const run = await cliInProcess('--help');
    expect(run.status).toBe(0);
    for (const command of ['secret', 'count', 'prune', 'user-sessions', 'logout-user'])
      expect(run.stdout).toContain(command);
    expect((await cliInProcess('-h')).stdout).toBe(run.stdout);
  });

  it('--version prints the package version, exit 0', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const run = await cli('--version');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(pkg.version + '\n');
  });
});

describe('bad usage exits 2 with one coded line', () => {
  const cases: [string[], string][] = [
    [[], 'ERR_KVSESSION_USAGE'],
    [['frobnicate'], 'ERR_KVSESSION_USAGE'],
    [['count'], 'ERR_KVSESSION_USAGE'],
    [['count', '--store'], 'ERR_KVSESSION_USAGE'],
    [['count', '--store', 'memory://', '--bogus'], 'ERR_KVSESSION_USAGE'],
    [['count', '--store', 'memory://', 'extra'], 'ERR_KVSESSION_USAGE'],
    [['secret', '--store', 'memory://'], 'ERR_KVSESSION_USAGE'],
    [['count', '--store', 'memory://', '--user', 'u1'], 'ERR_KVSESSION_USAGE'],
    [['user-sessions', '--store', 'memory://'], 'ERR_KVSESSION_USAGE'],
    [['logout-user', '--store', 'memory://', '--user', ''], 'ERR_KVSESSION_USAGE'],
    [['count', '--store', 'nosuchscheme://x'], 'ERR_KVSESSION_UNKNOWN_STORE'],
    [['count', '--store', 'not a url'], 'ERR_KVSESSION_BAD_STORE_URL'],
    [['count', '--store', 'sqlite://:memory:', '--timeout', 'soon'], 'ERR_KVSESSION_BAD_OPTION'],
    // A memory store would be the CLI's own, always empty: never a silent 0.
    [['count', '--store', 'memory://'], 'ERR_KVSESSION_USAGE'],
    [['prune', '--store', 'MEMORY://'], 'ERR_KVSESSION_USAGE'],
  ];
  for (const [args, code] of cases) {
    it(`kvsession ${args.join(' ') || '(nothing)'} → ${code}`, async () => {
      const run = await cliInProcess(...args);
      expect(run.status).toBe(2);
      expect(run.stdout).toBe('');
      expect(errorCode(run.stderr)).toBe(code);
    });
  }

  it('as a process: an unknown store scheme exits 2 with the code on stderr', async () => {
    const run = await cli('count', '--store', 'nosuchscheme://x');
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(errorCode(run.stderr)).toBe('ERR_KVSESSION_UNKNOWN_STORE');
  });

  it('an unknown flag close to a known one names the known one', async () => {
    const run = await cliInProcess('count', '--stor', 'sqlite://:memory:');
    expect(run.status).toBe(2);
    expect(errorCode(run.stderr)).toBe('ERR_KVSESSION_USAGE');
    expect(run.stderr).toContain('--store?');
  });

  it('a sqlite:// or file: URL naming a path that does not exist is an error, and creates nothing', async () => {
    const dir = mkdtempSync(join(tmp, 'missing-'));
    for (const url of [
      `sqlite://${join(dir, 'nope.db')}`,
      `sqlite://${join(dir, 'no-dir', 'x.db')}`,
      `file:${join(dir, 'no-dir')}`,
    ]) {
      const run = await cliInProcess('count', '--store', url);
      expect([url, run.status, errorCode(run.stderr)]).toEqual([
        url,
        2,
        'ERR_KVSESSION_BAD_STORE_URL',
      ]);
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it('as a process: an unknown flag exits 2 with the code on stderr', async () => {
    const run = await cli('prune', '--store', 'memory://', '--everything');
    expect(run.status).toBe(2);
    expect(errorCode(run.stderr)).toBe('ERR_KVSESSION_USAGE');
  });
});

describe('runtime failures exit 1', () => {
  it('count against an unreachable Redis exits 1 with ERR_KVSESSION_STORE_*, no stack trace', async () => {
    const run = await cli('count', '--store', 'redis://127.0.0.1:1', '--timeout', '1000');
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(errorCode(run.stderr)).toMatch(/^ERR_KVSESSION_STORE_/);
  });
});

// Memory stores are per process, so the CLI is checked against stores a child process can share.
const SHARED_STORES = [
  { name: 'file', url: (dir: string) => `file:${join(dir, 'sessions')}` },
  { name: 'sqlite', url: (dir: string) => `sqlite://${join(dir, 'sessions.db')}` },
];

for (const { name, url: urlIn } of SHARED_STORES) {
  describe(`count / prune against ${name}`, () => {
    it('count prints the live sessions of --prefix; prune deletes the expired ones and prints how many', async () => {
      const url = urlIn(mkdtempSync(join(tmp, `${name}-`)));
      const prefix = randomPrefix('cli');
      const other = randomPrefix('other');
      const store = createStore(url, { prefix });
      const neighbour = createStore(url, { prefix: other });
      const soon = Date.now() + 200;
      const later = Date.now() + 3_600_000;
      try {
        for (const key of ['a', 'b', 'c']) expect(await store.create(key, '{}', later)).toBe(true);
        for (const key of ['d', 'e']) expect(await store.create(key, '{}', soon)).toBe(true);
        expect(await neighbour.create('n', '{}', later)).toBe(true);
      } finally {
        await store.close();
        await neighbour.close();
      }
      // Wait out the short records' deadline so the CLI's view of them cannot depend on its start-up time.
      await new Promise((r) => setTimeout(r, Math.max(0, soon - Date.now() + 20)));

      const count = await cli('count', '--store', url, '--prefix', prefix);
      expect(count).toMatchObject({ status: 0, stdout: '3\n', stderr: '' });
      const prune = await cli('prune', '--store', url, '--prefix', prefix);
      expect(prune).toMatchObject({ status: 0, stdout: '2\n', stderr: '' });
      const again = await cli('prune', '--store', url, '--prefix', prefix);
      expect(again).toMatchObject({ status: 0, stdout: '0\n', stderr: '' });
      const neighbours = await cli('count', '--store', url, '--prefix', other);
      expect(neighbours).toMatchObject({ status: 0, stdout: '1\n', stderr: '' });
    });
  });
}

describe('user-sessions / logout-user against sqlite', () => {
  let url: string;
  let prefix: string;
  let sessions: KvSessionMiddleware | undefined;
  let server: Server | undefined;
  let base: string;

  beforeAll(async () => {
    url = `sqlite://${join(mkdtempSync(join(tmp, 'users-')), 'sessions.db')}`;
    prefix = randomPrefix('users');
    const middleware = kvSession({ secret: SECRET, store: url, prefix, pruneInterval: false });
    sessions = middleware;
    const app = express();
    app.use(middleware);
    app.post('/login/:user', async (req, res) => {
      await req.session.login(req.params.user);
      res.end();
    });
    app.get('/whoami', async (req, res) => {
      res.send((await req.session.userId()) ?? '');
    });
    const listening = app.listen(0, '127.0.0.1');
    server = listening;
    await new Promise((r) => listening.once('listening', r));
    base = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => (server === undefined ? r(undefined) : server.close(r)));
    await sessions?.close();
  });

  /** Logs a fresh client in as `user`; resolves its cookie. */
  async function login(user: string): Promise<string> {
    const res = await fetch(`${base}/login/${user}`, { method: 'POST' });
    const cookie = res.headers.get('set-cookie')?.split(';')[0];
    if (cookie === undefined) throw new Error('login set no cookie');
    return cookie;
  }

  async function whoami(cookie: string): Promise<string> {
    return (await fetch(`${base}/whoami`, { headers: { cookie } })).text();
  }

  it('user-sessions lists handles and times, never IDs; logout-user ends them all and prints how many', async () => {
    const alice = [await login('alice'), await login('alice')];
    const bob = await login('bob');
    const manager = sessions as KvSessionMiddleware;
    const handles = (await manager.listUserSessions('alice')).map((s) => s.handle).sort();
    expect(handles).toHaveLength(2);

    const table = await cli('user-sessions', '--store', url, '--prefix', prefix, '--user', 'alice');
    expect(table.status).toBe(0);
    expect(table.stderr).toBe('');
    const rows = table.stdout.trim().split('\n').slice(1);
    expect(rows.map((r) => r.split(/\s+/)[0]).sort()).toEqual(handles);
    for (const cookie of alice) {
      const id = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1)).split('.')[0] ?? '';
      expect(id.length).toBeGreaterThan(20);
      expect(table.stdout).not.toContain(id);
    }

    const json = await cli(
      'user-sessions',
      '--store',
      url,
      '--prefix',
      prefix,
      '--user',
      'alice',
      '--json',
    );
    expect(json.status).toBe(0);
    const listed = JSON.parse(json.stdout) as {
      handle: string;
      createdAt: string;
      lastActiveAt: string;
      expiresAt: string;
    }[];
    expect(listed.map((s) => s.handle).sort()).toEqual(handles);
    for (const s of listed)
      expect(Date.parse(s.expiresAt)).toBeGreaterThan(Date.parse(s.createdAt));

    const logout = await cli('logout-user', '--store', url, '--prefix', prefix, '--user', 'alice');
    expect(logout).toMatchObject({ status: 0, stdout: '2\n', stderr: '' });
    for (const cookie of alice) expect(await whoami(cookie)).toBe('');
    expect(await whoami(bob)).toBe('bob');
    expect(await manager.listUserSessions('alice')).toEqual([]);

    const none = await cli('user-sessions', '--store', url, '--prefix', prefix, '--user', 'alice');
    expect(none).toMatchObject({ status: 0, stdout: '0 sessions\n' });
    const again = await cli('logout-user', '--store', url, '--prefix', prefix, '--user', 'alice');
    expect(again).toMatchObject({ status: 0, stdout: '0\n' });
  });
});
