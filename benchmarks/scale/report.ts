import type { MachineInfo } from '../machine.js';
import type { ScaleArgs } from './args.js';
import type { PruneResult } from './prune.js';
import type { SizePoint } from './sweep.js';
import { judgeScale } from './targets.js';

/** Everything the scale report shows. */
export interface ScaleReportInput {
  readonly args: ScaleArgs;
  readonly machine: MachineInfo;
  readonly pinning: string;
  readonly points: readonly SizePoint[];
  readonly prunes: readonly PruneResult[];
  readonly unavailable: readonly string[];
}

/** The scale report as Markdown. */
export function renderScaleReport(input: ScaleReportInput): string {
  const { args, machine } = input;
  const parts = [
    '# kvsession at scale',
    '',
    `${machine.date} · mode **${args.mode}** · ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB · ${machine.os} · Node ${machine.node}`,
    `load average before ${machine.loadBefore}, after ${machine.loadAfter} · ${args.reps} rep(s) × ${args.durationSec} s per route and size after ${args.warmupSec} s of warm-up · ${args.connections} connections, each request with the cookie of a session drawn at random from the whole population`,
    `CPU placement: ${input.pinning}`,
  ];
  if (input.points.length > 0)
    parts.push(
      '',
      '## Cost against live sessions',
      '',
      'Medians over the repetitions; the p99 column lists every repetition after the median.',
      '',
      sweepTable(input.points),
      '',
      '![/read p99 against live sessions](scale.svg)',
    );
  if (input.prunes.length > 0)
    parts.push('', '## Pruning under /read load', '', pruneTable(input.prunes));
  parts.push('', '## Targets', '', ...judgeScale(input.points, input.prunes).map((v) => `- ${v}`));
  if (input.unavailable.length > 0)
    parts.push('', '## Not measured', '', ...input.unavailable.map((u) => `- ${u}`));
  parts.push('', '## How this is measured', '', METHOD);
  return parts.join('\n') + '\n';
}

function sweepTable(points: readonly SizePoint[]): string {
  const rows = [
    '| contender | sessions | /read req/s | /read p50 ms | /read p99 ms | /write req/s | /write p50 ms | /write p99 ms | store bytes/session | fill s |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const keys = [...new Set(points.map((p) => `${p.contender}\u0000${p.sessions}`))];
  for (const key of keys) {
    const [contender, sessions] = key.split('\u0000') as [string, string];
    const of = (route: string) =>
      points.find(
        (p) => p.contender === contender && String(p.sessions) === sessions && p.route === route,
      );
    const read = of('read');
    const write = of('write');
    const cells = (p: SizePoint | undefined) =>
      p === undefined
        ? ['', '', '']
        : [
            `${Math.round(p.rps)}${p.failures > 0 ? ` (${p.failures} failed)` : ''}`,
            String(p.p50Ms),
            `${p.p99Ms} (${p.p99s.join(', ')})`,
          ];
    const any = read ?? write;
    rows.push(
      `| ${contender} | ${Number(sessions).toLocaleString('en')} | ${[...cells(read), ...cells(write)].join(' | ')} | ${any ? Math.round(any.bytesPerSession) : ''} | ${any ? any.fillSec.toFixed(1) : ''} |`,
    );
  }
  return rows.join('\n');
}

function pruneTable(prunes: readonly PruneResult[]): string {
  const rows = [
    '| contender | live | expired | removed | prune s | rows/s | /read p99 ms before → during | × | /read req/s before → during | failed during |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const p of prunes) {
    rows.push(
      `| ${p.contender} | ${p.live.toLocaleString('en')} | ${p.expired.toLocaleString('en')} | ${p.removed.toLocaleString('en')}${p.missed > 0 ? ` (${p.missed} left)` : ''} | ${p.pruneSec.toFixed(2)} | ${Math.round(p.rowsPerSec).toLocaleString('en')} | ${p.p99BeforeMs} → ${p.p99DuringMs} | ${(p.p99DuringMs / Math.max(1, p.p99BeforeMs)).toFixed(2)} | ${Math.round(p.rpsBefore)} → ${Math.round(p.rpsDuring)} | ${p.failuresDuring} |`,
    );
  }
  return rows.join('\n');
}

const METHOD = `Each contender's server runs alone on one CPU (the load generator on the other, \`taskset\`; Redis
and PostgreSQL where the OS puts them). Its store is bulk-loaded in the store's own format, not through
HTTP: kvsession's records as the middleware writes them (store key = SHA-256 of the session ID, record
text from the project's serializer, in keyv's envelope on SQL), express-session's rows in
connect-sqlite3's and connect-pg-simple's table layouts; the memory and file stores fill themselves
inside the server process. PostgreSQL tables get \`VACUUM ANALYZE\` after each load, as autovacuum
would. Every request carries the signed cookie of a session drawn at random from the whole population.
Store bytes per session: SQLite pages in use × page size, PostgreSQL \`pg_total_relation_size\` (table,
TOAST and indexes), Redis \`MEMORY USAGE\` of 200 sessions spread over the population, the memory
store's server RSS growth after two full collections, the file store's disk usage.
Pruning: live sessions and expired ones (expired an hour ago) in fresh stores, /read measured
undisturbed, then the store's own sweep (kvsession's \`prune()\`, which the background pruner calls;
connect-pg-simple's \`pruneSessions()\`; connect-sqlite3's cleanup statement) run inside the server
while /read load goes on; that load starts 0.5 s before the prune and stops when it ends.`;
