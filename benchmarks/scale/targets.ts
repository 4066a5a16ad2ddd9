import type { PruneResult } from './prune.js';
import type { SizePoint } from './sweep.js';
import { kvsession } from './population.js';

// The targets (issue 22).
const READ_P99_GROWTH = 1.5;
const PRUNE_SECONDS = 60;
const PRUNE_P99_GROWTH = 2;
const MEMORY_OVERHEAD_BYTES = 1024;

/** One PASS/MISS line per kvsession store and target; judged on medians of the repetitions. */
export function judgeScale(points: readonly SizePoint[], prunes: readonly PruneResult[]): string[] {
  const lines: string[] = [];
  const reads = points.filter((p) => p.route === 'read' && p.contender.startsWith('kvsession/'));
  for (const id of new Set(reads.map((p) => p.contender))) {
    const mine = reads.filter((p) => p.contender === id).sort((a, b) => a.sessions - b.sessions);
    const first = mine[0];
    const last = mine.at(-1);
    if (first === undefined || last === undefined || last === first) continue;
    const ratio = last.p99Ms / Math.max(1, first.p99Ms);
    lines.push(
      `${verdict(ratio <= READ_P99_GROWTH)} ${id}: /read p99 at ${count(last.sessions)} is ${ratio.toFixed(2)} × its value at ${count(first.sessions)} (${last.p99Ms} against ${first.p99Ms} ms; target ≤ ${READ_P99_GROWTH} ×${last.sessions < 1_000_000 ? '; the target is for 1M' : ''})`,
    );
  }
  for (const p of prunes.filter((r) => r.contender.startsWith('kvsession/'))) {
    const growth = p.p99DuringMs / Math.max(1, p.p99BeforeMs);
    lines.push(
      `${verdict(p.pruneSec <= PRUNE_SECONDS && p.missed === 0)} ${p.contender}: pruned ${p.removed.toLocaleString('en')} expired in ${p.pruneSec.toFixed(1)} s (target ≤ ${PRUNE_SECONDS} s for 1M)`,
      `${verdict(growth <= PRUNE_P99_GROWTH)} ${p.contender}: /read p99 during the prune ${growth.toFixed(2)} × undisturbed (${p.p99DuringMs} against ${p.p99BeforeMs} ms; target ≤ ${PRUNE_P99_GROWTH} ×)`,
    );
  }
  const memory = points
    .filter((p) => p.contender === 'kvsession/memory' && p.route === 'read')
    .sort((a, b) => b.sessions - a.sessions)[0];
  if (memory !== undefined) {
    // The data a session cannot do without: its record text and its store key, i.e. the prefix
    // (`kvscale:` + a ~16-character run id + `:`) and the 43-character hash of the ID.
    const data = kvsession.record(Date.now()).length + 'kvscale:'.length + 17 + 43;
    const overhead = memory.bytesPerSession - data;
    lines.push(
      `${verdict(overhead <= MEMORY_OVERHEAD_BYTES)} kvsession/memory: ${Math.round(memory.bytesPerSession)} B of RSS per session at ${count(memory.sessions)}, ${Math.round(overhead)} B beyond its ${data} B of record text and key (target ≤ ${MEMORY_OVERHEAD_BYTES} B)`,
    );
  }
  return lines;
}

function verdict(pass: boolean): string {
  return pass ? '**PASS**' : '**MISS**';
}

function count(n: number): string {
  return n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n);
}
