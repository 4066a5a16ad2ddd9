import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { currentLoad, machineInfo } from '../machine.js';
import { resultsDir } from '../paths.js';
import { pin, setUpPinning } from '../pinning.js';
import type { Pinning } from '../pinning.js';
import { startServer } from '../spawn.js';
import type { RunningServer } from '../spawn.js';
import type { Backend } from './backend.js';
import { parseScaleArgs } from './args.js';
import type { ScaleArgs } from './args.js';
import { expressSessionContender, kvsessionContender } from './contenders.js';
import type { ExpressSessionScaleStore } from './contenders.js';
import type { ScaleContender, ScalePlace } from './contenders.js';
import { pruneUnderLoad } from './prune.js';
import type { PruneResult } from './prune.js';
import { sweep } from './sweep.js';
import type { SizePoint } from './sweep.js';
import { renderScaleReport } from './report.js';
import { renderChart } from './chart.js';

/** Servers and backends alive right now: what Ctrl-C or a failure must clean up. */
const alive = new Set<Entry>();

/** A contender's server and backend while they exist. */
interface Entry {
  server?: RunningServer | undefined;
  backend?: Backend | undefined;
}

async function main(): Promise<void> {
  let args: ScaleArgs;
  try {
    args = parseScaleArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
    return;
  }
  const machine = machineInfo();
  const pinning = setUpPinning(args.pin);
  const runId = `${Date.now().toString(36)}${process.pid}`;
  const tmpDir = mkdtempSync(join(tmpdir(), 'kvsession-scale-'));
  // Each phase gets fresh names and its own directory: the pruning phase starts from empty stores.
  const place = (phase: string): ScalePlace => {
    mkdirSync(join(tmpDir, phase));
    return {
      runId: `${runId}${phase}`,
      tmpDir: join(tmpDir, phase),
      redisUrl: process.env['BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379',
      postgresUrl: process.env['BENCH_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test',
    };
  };
  const abandon = (why: string, code: number): void => {
    log(`${why}: removing this run’s keys, tables and files`);
    void cleanupAll().finally(() => {
      rmSync(tmpDir, { recursive: true, force: true });
      process.exit(code);
    });
  };
  process.once('SIGINT', () => abandon('interrupted', 130));
  // A driver error emitted with no listener would otherwise end the run with the servers still up.
  process.once('uncaughtException', (err) => abandon(`failed: ${err.message}`, 1));
  const points: SizePoint[] = [];
  const prunes: PruneResult[] = [];
  const unavailable: string[] = [];
  try {
    for (const c of args.sweep ? sweepContenders(args, place('s')) : []) {
      await withServer(c, pinning, unavailable, async (server, backend) => {
        points.push(...(await sweep(c, server, backend, args, log)));
      });
    }
    if (args.pruneExpired > 0) {
      for (const c of pruneContenders(args, place('p'))) {
        await withServer(c, pinning, unavailable, async (server, backend) => {
          prunes.push(await pruneUnderLoad(c, server, backend, args, log));
        });
      }
    }
  } finally {
    await cleanupAll();
    rmSync(tmpDir, { recursive: true, force: true });
  }
  machine.loadAfter = currentLoad();
  const report = renderScaleReport({
    args,
    machine,
    pinning: pinning.description,
    points,
    prunes,
    unavailable,
  });
  process.stdout.write(`\n${report}`);
  if (args.save) {
    const dir = resultsDir();
    await mkdir(dir, { recursive: true });
    if (!args.sweep) {
      await writeFile(join(dir, 'scale-prune.md'), report);
      log(`wrote ${join(dir, 'scale-prune.md')}`);
      return;
    }
    await writeFile(join(dir, 'scale.md'), report);
    await writeFile(join(dir, 'scale.svg'), renderChart(points));
    log(`wrote ${join(dir, 'scale.md')} and scale.svg`);
  }
}

/** kvsession on every chosen store, then express-session on each of them it has a store for. */
function sweepContenders(args: ScaleArgs, place: ScalePlace): ScaleContender[] {
  return [
    ...args.stores.map((s) => kvsessionContender(s, place)),
    ...expressSessionOnes(args, place),
  ];
}

/** Pruning is measured where a prune has work: the SQL stores (Redis expires keys itself). */
function pruneContenders(args: ScaleArgs, place: ScalePlace): ScaleContender[] {
  const sql = args.stores.filter((s) => s === 'sqlite' || s === 'postgres');
  return [
    ...sql.map((s) => kvsessionContender(s, place)),
    ...expressSessionOnes(args, place).filter(
      (c) => c.store === 'sqlite' || c.store === 'postgres',
    ),
  ];
}

function expressSessionOnes(args: ScaleArgs, place: ScalePlace): ScaleContender[] {
  if (!args.expressSession) return [];
  const theirs = args.stores.filter((s): s is ExpressSessionScaleStore => s !== 'file');
  return theirs.map((s) => expressSessionContender(s, place));
}

/**
 * Starts the contender's server, runs `body`, and always stops it and removes its data; a
 * contender that fails is reported as unavailable and the run goes on.
 */
async function withServer(
  c: ScaleContender,
  pinning: Pinning,
  unavailable: string[],
  body: (server: RunningServer, backend: Backend) => Promise<void>,
): Promise<void> {
  // Until the server reports its port, a backend that needs none (SQL, Redis) can still remove
  // what the server created (its table) should the start fail.
  const entry: Entry = { backend: c.backend(0) };
  alive.add(entry);
  try {
    const started = await startServer(c, c.execArgv);
    if (!started.ok) throw new Error(started.reason);
    entry.server = started.server;
    if (pinning.serverCpu !== undefined) pin(started.server.pid, pinning.serverCpu);
    entry.backend = c.backend(started.server.port);
    await body(started.server, entry.backend);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    unavailable.push(`${c.id}: ${reason}`);
    log(`${c.id}: failed: ${reason}`);
  } finally {
    await cleanup(entry);
    alive.delete(entry);
  }
}

async function cleanup(entry: Entry): Promise<void> {
  const { server, backend } = entry;
  entry.server = undefined;
  entry.backend = undefined;
  await server?.stop();
  await backend?.cleanup().catch((err: unknown) => log(`cleanup failed: ${String(err)}`));
}

async function cleanupAll(): Promise<void> {
  await Promise.all([...alive].map((entry) => cleanup(entry)));
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

await main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
