import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  LIBRARIES,
  ROUTES,
  STORES,
  bareContender,
  isReference,
  referenceContenders,
  runPlace,
  storeContenders,
} from './contenders.js';
import { list, positive } from './args.js';
import type { Contender, Route } from './contenders.js';
import { createSessions } from './client.js';

// Instructions per request, counted by valgrind's callgrind: deterministic, unlike req/s on a shared
// machine (see benchmarks/README.md). One connection, requests strictly one at a time. Memory store by
// default; with --stores, others too, counting only the server process (a backend's own work is left out).
//
// usage: node dist/benchmarks/run.js instructions [--routes none,read,write] [--libs kvsession,express-session]
//          [--stores memory,redis] [--warmup 12000] [--requests 2000] [--samples 4] [--mixed 4000] [--no-bare]
// --mixed N first serves N requests of each other route, as every server of the full run has: once a
// kvsession server has saved a session, V8 has seen the save path and the response hold,
// and /none and /read count differently. --no-bare leaves out bare Express and the two references
// (an empty middleware; one that sets req.session and req.sessionID), whose counts move little between
// builds: a before/after comparison of one contender in a fraction of the time.

const USAGE =
  'usage: node dist/benchmarks/run.js instructions [--routes a,b] [--libs kvsession,express-session] [--stores memory,redis] [--warmup N] [--requests N] [--samples N] [--mixed N] [--no-bare]';

interface Sampled {
  readonly contender: string;
  readonly route: Route;
  /** Instructions per request in each sample, in order. */
  readonly perRequest: number[];
}

/** `run.js instructions [options]`: instructions per request under callgrind. */
export async function runInstructions(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      routes: { type: 'string' },
      libs: { type: 'string' },
      stores: { type: 'string' },
      warmup: { type: 'string' },
      requests: { type: 'string' },
      samples: { type: 'string' },
      mixed: { type: 'string' },
      'no-bare': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('valgrind is not installed: apt-get install -y valgrind');
  }
  const routes = list(values.routes, ROUTES, '--routes', USAGE);
  const libs =
    values.libs === undefined
      ? (['kvsession'] as const)
      : list(values.libs, LIBRARIES, '--libs', USAGE);
  const stores =
    values.stores === undefined
      ? (['memory'] as const)
      : list(values.stores, STORES, '--stores', USAGE);
  const warmup = positive(values.warmup, 12_000, '--warmup', USAGE);
  const requests = positive(values.requests, 2_000, '--requests', USAGE);
  // The first window is left out of the table, so at least two.
  const samples = Math.max(2, positive(values.samples, 4, '--samples', USAGE));
  const mixed = positive(values.mixed, 0, '--mixed', USAGE);
  const dir = mkdtempSync(join(tmpdir(), 'kvsession-instr-'));
  const place = runPlace(`instr${process.pid}`, dir);
  const contenders = [
    ...(values['no-bare'] === true ? [] : [bareContender(), ...referenceContenders()]),
    ...stores.flatMap((store) => storeContenders(store, place, libs)),
  ];
  const results: Sampled[] = [];
  try {
    for (const route of routes) {
      for (const c of contenders) {
        const perRequest = await sample(c, route, dir, { warmup, requests, samples, mixed });
        results.push({ contender: c.id, route, perRequest });
        process.stderr.write(
          `${c.id} /${route}: ${perRequest.map((n) => n.toLocaleString('en-US')).join(' · ')}\n`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`${table(results)}\n`);
}

/** Runs one contender under callgrind and returns instructions per request for each sample window. */
async function sample(
  c: Contender,
  route: Route,
  dir: string,
  n: { warmup: number; requests: number; samples: number; mixed: number },
): Promise<number[]> {
  // Named for the contender, not its library: with --stores memory,redis two runs of one library
  // shared a file name, and a window could be read from the other store's older dump.
  const out = join(dir, `cg-${c.id.replace(/[^a-z0-9]+/gi, '-')}-${route}`);
  // --single-threaded: V8 compiles and collects on the main thread, which callgrind then counts
  // the same way every run, instead of on helper threads scheduled by the OS.
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--smc-check=all-non-file',
      `--callgrind-out-file=${out}`,
      process.execPath,
      '--single-threaded',
      c.script,
      ...c.args,
    ],
    { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, NODE_ENV: 'production' } },
  );
  try {
    const port = await readyPort(child.stdout);
    const cookie = isReference(c.library) ? undefined : await firstSession(port);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    // As in the full run, where every server has served all three routes before most cells.
    for (const other of ROUTES)
      if (other !== route && n.mixed > 0) await load(port, other, cookie, agent, n.mixed);
    await load(port, route, cookie, agent, n.warmup);
    const perRequest: number[] = [];
    for (let i = 0; i < n.samples; i++) {
      const pid = String(child.pid);
      execFileSync('callgrind_control', ['-z', pid], { stdio: 'ignore' });
      await load(port, route, cookie, agent, n.requests);
      execFileSync('callgrind_control', ['-d', pid], { stdio: 'ignore' });
      perRequest.push(Math.round(dumpTotal(out, i + 1) / n.requests));
    }
    agent.destroy();
    return perRequest;
  } finally {
    child.kill('SIGINT');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

/**
 * One session's cookie. Under callgrind a server runs ~50× slower, so its first store call (which
 * also loads the driver and connects) can outlast the store timeout and answer 503: retried a few times.
 */
async function firstSession(port: number): Promise<string | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await createSessions(port, 1))[0];
    } catch (err) {
      if (attempt === 5) throw err;
      await sleep(2000);
    }
  }
}

function readyPort(stdout: NodeJS.ReadableStream | null): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = '';
    stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = /"type":"ready","port":(\d+)/.exec(text);
      if (match !== null) resolve(Number(match[1]));
      if (text.includes('"unavailable"')) reject(new Error(text));
    });
  });
}

/** `count` requests one after another on one kept-alive connection; any non-2xx answer aborts the run. */
async function load(
  port: number,
  route: Route,
  cookie: string | undefined,
  agent: Agent,
  count: number,
): Promise<void> {
  for (let i = 0; i < count; i++) {
    await new Promise<void>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: `/${route}`,
          agent,
          headers: cookie === undefined ? {} : { cookie },
        },
        (res) => {
          if ((res.statusCode ?? 500) >= 300)
            reject(new Error(`/${route} answered ${res.statusCode}`));
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end();
    });
  }
}

/** The `totals:` line of dump number `index` of `out` (callgrind numbers a process's dumps from 1). */
function dumpTotal(out: string, index: number): number {
  const file = `${out}.${index}`;
  const totals = /^totals: (\d+)/m.exec(readFileSync(file, 'utf8'));
  if (totals === null) throw new Error(`no totals in ${file}`);
  return Number(totals[1]);
}

/**
 * The first window after the warm-up still holds compilation and idle-time GC, so it is left out;
 * each later window is compared with bare Express's window of the same index, because the
 * collector runs at the same points of each run and moves all servers' counts together.
 */
function table(results: Sampled[]): string {
  const lines = [
    '| route | contender | instructions/request | × bare (by instructions) |',
    '|---|---|---:|---:|',
  ];
  for (const r of results) {
    const bare = results.find((b) => b.route === r.route && b.contender === 'bare express');
    const mine = r.perRequest.slice(1);
    const ratios = mine.map((v, i) => (bare?.perRequest[i + 1] ?? Number.NaN) / v);
    lines.push(
      `| /${r.route} | ${r.contender} | ${Math.round(median(mine)).toLocaleString('en-US')} | ${bare === undefined ? '—' : median(ratios).toFixed(3)} |`,
    );
  }
  return lines.join('\n');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
