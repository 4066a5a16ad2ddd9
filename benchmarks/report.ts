import type { BenchArgs } from './args.js';
import { isReference } from './contenders.js';
import type { MachineInfo } from './machine.js';
import type { Row } from './summary.js';
import { comparedWithExpressSession } from './summary.js';
import type { Verdict } from './targets.js';

/** Everything one report shows. */
export interface ReportInput {
  readonly args: BenchArgs;
  readonly machine: MachineInfo;
  /** Where the processes ran (pinning.ts). */
  readonly pinning: string;
  readonly rows: readonly Row[];
  readonly verdicts: readonly Verdict[];
  /** The micro-benchmark table, when they ran. */
  readonly micro: string | undefined;
}

/** The whole report as Markdown. */
export function renderReport(input: ReportInput): string {
  const { args, machine } = input;
  const parts = [
    '# kvsession benchmarks',
    '',
    `${machine.date} · mode **${args.mode}** · ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB · ${machine.os} · Node ${machine.node}`,
    `load average before ${machine.loadBefore}, after ${machine.loadAfter} · ${args.reps} rep(s) × ${args.durationSec} s per cell in ${args.forks} server process(es) per contender, ${args.warmupSec} s warm-up (then ${args.rewarmSec} s before each later cell), ${args.settleSec} s settle · ${args.connections} connections, one session per connection`,
    `CPU placement: ${input.pinning}`,
  ];
  if (input.rows.length > 0) {
    parts.push('', '## HTTP', '', httpTable(input.rows), '', '## Targets', '');
    // Measured: a quick run put kvsession/memory /none at 0.61 × bare where full runs give 0.94-0.96.
    if (args.warmupSec < 15)
      parts.push(
        `With ${args.warmupSec} s of warm-up the speed verdicts are indicative only (servers may still be optimising); judge them on a full run. Store-operation counts are exact in any mode.`,
        '',
      );
    parts.push(verdictList(input.verdicts));
  }
  if (input.micro !== undefined) parts.push('', '## Micro-benchmarks', '', input.micro);
  parts.push('', '## How this is measured', '', METHOD);
  return parts.join('\n') + '\n';
}

/** The results table. */
export function httpTable(rows: readonly Row[]): string {
  const lines = [
    '| route | contender | req/s | p99 ms | × bare | × express-session | CPU µs/req | × bare by CPU | store ops/req (read + write + delete) | failed |',
    '|---|---|---:|---:|---:|---:|---:|---:|---|---:|',
  ];
  for (const r of rows) {
    if (r.unavailable !== undefined) {
      lines.push(
        `| /${r.route} | ${r.contender} | unavailable: ${escape(r.unavailable)} | | | | | | | |`,
      );
      continue;
    }
    const ops = isReference(r.library)
      ? '—'
      : `${(r.reads + r.writes + r.deletes).toFixed(2)} (${r.reads.toFixed(2)} + ${r.writes.toFixed(2)} + ${r.deletes.toFixed(2)})`;
    lines.push(
      `| /${r.route} | ${r.contender} | ${Math.round(r.rps).toLocaleString('en-US')} | ${r.p99Ms.toFixed(1)} | ${fixed(r.vsBare)} | ${comparedWithExpressSession(r.library) ? fixed(r.vsExpressSession) : ''} | ${Math.round(r.cpuMicrosPerRequest)} | ${fixed(r.cpuVsBare)} | ${ops} | ${r.failures} |`,
    );
  }
  return lines.join('\n');
}

/** PASS/MISS per target, misses first. */
export function verdictList(verdicts: readonly Verdict[]): string {
  const pass = verdicts.filter((v) => v.verdict === 'PASS').length;
  const miss = verdicts.filter((v) => v.verdict === 'MISS').length;
  const order = { MISS: 0, 'n/a': 1, PASS: 2 } as const;
  const sorted = [...verdicts].sort((a, b) => order[a.verdict] - order[b.verdict]);
  return [
    `${pass} PASS, ${miss} MISS, ${verdicts.length - pass - miss} n/a`,
    '',
    ...sorted.map((v) => `- **${v.verdict}** ${v.target} — ${escape(v.measured)}`),
  ].join('\n');
}

const METHOD = `- Each server runs in its own process (\`benchmarks/servers/\`); autocannon runs in the orchestrator. Servers live for the whole run, or with \`--forks N\` each contender runs in N fresh processes in turn, the repetitions split between them (two processes of the same server differed by up to 17% in CPU per request: V8's optimisation state differs by process); each server and route is warmed up once per process, before its first measurement, long enough for V8 to finish optimising (15 s full, 3 s quick): bare Express is measured in every group and so is always the warmest process, and with a 2 s warm-up an empty middleware came out at 0.91 × bare, with 15 s at 1.02 ×.
- Unless \`--no-pin\`, the server under test has CPU 1 to itself (all its threads, the libuv pool that runs SQLite and file I/O included) and the load generator CPU 0, like a one-core container; Redis and PostgreSQL run where the OS puts them.
- Sessions are created by a setup request first; each connection then sends its own session's cookie on every request.
- Two references have no sessions: Express with one empty middleware, and one whose middleware only sets \`req.session\` and \`req.sessionID\` to constants (the floor for any middleware with express-session's API: V8 gives an Express request a new hidden class for every property added to it).
- On Redis, \`raw node-redis\` is no session library but the floor under any: per request with a cookie one \`GET\` through node-redis and \`JSON.parse\`, on /write one compare-and-set script (a copy of the Redis store's), and nothing else (no signature, expiry, response hold or change tracking). Its ratio to express-session is the most any library that reads once and never loses a concurrent save could reach there. \`raw node-redis + hold\` is the same with kvsession's response hold on /write (the handler answers at once; the answer is held back until the compare-and-set is done), as any session middleware must: its /write ratio is the most such a middleware could reach there.
- In each repetition, bare Express is measured next to each store's pair of contenders: bare, express-session, kvsession in even repetitions, the reverse in odd ones, so drift and a backend still busy from the previous cell cancel out. × bare and × express-session are medians of per-repetition ratios.
- CPU µs/req is the server process's user + system CPU time over the measured window divided by requests served; "× bare by CPU" is bare Express's CPU µs/req ÷ the contender's. It is what the req/s ratio would be for a CPU-bound server, and a busy machine distorts it far less than req/s; it leaves out the CPU a store backend (Redis, PostgreSQL) spends in its own process.
- Store ops are counted inside the servers (a counting wrapper around the kvsession store; express-session's store get/set/touch/destroy wrapped) over the measured window, divided by requests served. Each counted call is one backend round trip for these stores.
- express-session runs with \`resave: false, saveUninitialized: false\`; kvsession with its defaults. SQLite databases are in WAL mode.
- Targets are evaluated here and reported, never asserted: numbers from a busy machine are noisy.`;

function fixed(x: number): string {
  return Number.isFinite(x) ? x.toFixed(2) : '—';
}

function escape(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
