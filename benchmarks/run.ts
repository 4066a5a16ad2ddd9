import { rmSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchArgs } from './args.js';
import type { Contender, RunPlace, Route } from './contenders.js';
import type { Cell } from './measure.js';
import type { RunningServer } from './spawn.js';
import { parseBenchArgs } from './args.js';
import {
  bareContender,
  isReference,
  referenceContenders,
  runPlace,
  storeContenders,
} from './contenders.js';
import { measureCell } from './measure.js';
import { startServer } from './spawn.js';
import { checkRoute, createSessions } from './client.js';
import { summarize } from './summary.js';
import { judge } from './targets.js';
import { renderReport } from './report.js';
import { currentLoad, machineInfo } from './machine.js';
import { microTable, runMicro } from './micro.js';
import { resultsDir } from './paths.js';
import type { Pinning } from './pinning.js';
import { pin, setUpPinning } from './pinning.js';
import { runInstructions } from './instructions.js';
import { runProfileSummary } from './profile-summary.js';

/** A started contender and the cookies of its sessions (one per connection). */
interface Live {
  readonly server: RunningServer;
  readonly cookies: readonly string[];
}

/** What a run accumulates. */
interface RunState {
  readonly args: BenchArgs;
  readonly live: Map<string, Live>;
  /** Contender id → why it could not be (fully) measured. */
  readonly unavailable: Map<string, string>;
  readonly cells: Cell[];
  /** `${contender}/${route}` already warmed up in the current fork: a server lives for its whole fork, so once is enough. */
  readonly warmed: Set<string>;
  readonly pinning: Pinning;
}

async function main(): Promise<void> {
  // One runner: the HTTP and micro benchmarks by default, and the two tools that read their output.
  const [first, ...rest] = process.argv.slice(2);
  if (first === 'instructions') return runInstructions(rest);
  if (first === 'profile') return runProfileSummary(rest);
  let args: BenchArgs;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
    return;
  }
  const machine = machineInfo();
  const pinning = setUpPinning(args.pin);
  if (args.micro === 'only') {
    process.stdout.write(`${await micro(args)}\n`);
    return;
  }
  const place: RunPlace = runPlace(
    `${Date.now().toString(36)}${process.pid}`,
    await mkdtemp(join(tmpdir(), 'kvsession-bench-')),
  );
  const bare = bareContender();
  // The two references are measured beside bare Express like a store group of their own.
  const groups = [
    referenceContenders(),
    ...args.stores.map((store) => storeContenders(store, place, args.libraries)),
  ];
  const contenders = [bare, ...groups.flat()];
  // The servers clean their backends up on Ctrl-C themselves; the data directory is ours to remove.
  process.once('SIGINT', () => {
    rmSync(place.tmpDir, { recursive: true, force: true });
    process.exit(130);
  });
  const run: RunState = {
    args,
    live: new Map(),
    unavailable: new Map(),
    cells: [],
    warmed: new Set(),
    pinning,
  };
  try {
    const perRep = args.routes.length * groups.reduce((n, group) => n + 1 + group.length, 0);
    const seconds =
      perRep *
      (args.reps * (args.durationSec + args.rewarmSec + args.settleSec + 0.3) +
        args.forks * (args.warmupSec - args.rewarmSec));
    log(`${perRep * args.reps} cells ≈ ${Math.ceil(seconds / 60)} min`);
    for (let rep = 0; rep < args.reps; rep++) {
      if (forkOf(rep, args) !== forkOf(rep - 1, args)) await refork(contenders, run);
      for (const route of args.routes) {
        for (const [index, group] of groups.entries()) {
          // Odd reps run the group backwards (bare last), so no contender always follows the same
          // neighbour: a backend still flushing after the previous cell then biases no one for good.
          const order = rep % 2 === 0 ? [bare, ...group] : [...group].reverse().concat(bare);
          for (const c of order) await cell(run, c, route, rep, index);
        }
      }
    }
  } finally {
    await Promise.all([...run.live.values()].map((l) => l.server.stop()));
    await rm(place.tmpDir, { recursive: true, force: true });
  }
  machine.loadAfter = currentLoad();
  const rows = summarize(run.cells, contenders, args.routes, run.unavailable);
  const report = renderReport({
    args,
    machine,
    pinning: pinning.description,
    rows,
    verdicts: judge(rows),
    micro: args.micro === 'also' ? await micro(args) : undefined,
  });
  process.stdout.write(`\n${report}`);
  if (args.save) await save(report);
}

/** Which server process (fork) runs repetition `rep`: the reps are split into `forks` consecutive runs; -1 before the first. */
function forkOf(rep: number, { reps, forks }: BenchArgs): number {
  return rep < 0 ? -1 : Math.floor((rep * forks) / reps);
}

/** Replaces every contender's server with a fresh process, warmed up again before its next cell. */
async function refork(contenders: readonly Contender[], run: RunState): Promise<void> {
  await Promise.all([...run.live.values()].map((l) => l.server.stop()));
  run.live.clear();
  run.warmed.clear();
  // One that failed in an earlier fork stays out: its rows already say why.
  for (const c of contenders) if (!run.unavailable.has(c.id)) await start(c, run);
}

/** Starts a contender and gives it its sessions; any failure makes it "unavailable", never a crash. */
async function start(c: Contender, { args, live, unavailable, pinning }: RunState): Promise<void> {
  const execArgv = args.cpuProf
    ? [
        '--cpu-prof',
        '--cpu-prof-dir',
        join(resultsDir(), 'profiles'),
        '--cpu-prof-name',
        `${c.id.replace(/\W+/g, '-')}-${Date.now()}.cpuprofile`,
      ]
    : [];
  const started = await startServer(c, execArgv);
  if (!started.ok) {
    unavailable.set(c.id, started.reason);
    log(`${c.id}: unavailable: ${started.reason}`);
    return;
  }
  try {
    if (pinning.serverCpu !== undefined) pin(started.server.pid, pinning.serverCpu);
    const sessionless = isReference(c.library);
    const cookies = sessionless ? [] : await createSessions(started.server.port, args.connections);
    if (!sessionless && cookies.length === 0) throw new Error('/__setup set no cookie');
    for (const route of args.routes) await checkRoute(started.server.port, route, cookies[0]);
    live.set(c.id, { server: started.server, cookies });
    log(`${c.id}: ready on port ${started.server.port}`);
  } catch (err) {
    const reason = `setup failed: ${err instanceof Error ? err.message : String(err)}`;
    unavailable.set(c.id, reason);
    log(`${c.id}: unavailable: ${reason}`);
    await started.server.stop();
  }
}

/** Measures one cell; a contender that fails mid-run is stopped and reported, the run goes on. */
async function cell(
  { args, live, unavailable, cells, warmed }: RunState,
  c: Contender,
  route: Route,
  rep: number,
  group: number,
): Promise<void> {
  const l = live.get(c.id);
  if (l === undefined) return;
  try {
    const key = `${c.id}/${route}`;
    const { load, stats } = await measureCell(
      l.server.port,
      route,
      l.cookies,
      args,
      warmed.has(key) ? args.rewarmSec : args.warmupSec,
    );
    warmed.add(key);
    cells.push({ contender: c.id, route, rep, group, load, stats });
    log(
      `rep ${rep + 1}/${args.reps} /${route} ${c.id}: ${Math.round(load.rps)} req/s, p99 ${load.p99Ms} ms, ${Math.round(stats.cpuMicros / Math.max(1, stats.served))} µs CPU/req${load.failures > 0 ? `, ${load.failures} failed` : ''}`,
    );
  } catch (err) {
    unavailable.set(
      c.id,
      `failed on /${route}: ${err instanceof Error ? err.message : String(err)}`,
    );
    live.delete(c.id);
    await l.server.stop();
  }
}

async function micro(args: BenchArgs): Promise<string> {
  const { results, sessionBytes } = await runMicro(args.mode === 'quick' ? 300 : 1000);
  return microTable(results, sessionBytes);
}

async function save(report: string): Promise<void> {
  const dir = resultsDir();
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'latest.md'), report);
  log(`wrote ${join(dir, 'latest.md')}`);
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

await main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
