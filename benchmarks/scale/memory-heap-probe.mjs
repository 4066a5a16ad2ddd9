// Why the memory store's /read slows down with its size, outside HTTP: fills N sessions into one
// MemoryStore, then for S seconds reads random ones and makes a request's worth of garbage per read,
// and prints how many reads ran, the event-loop delay and the collector's pauses by kind.
//
// usage (after `npm run build:tools`): node --expose-gc benchmarks/scale/memory-heap-probe.mjs [N=10000] [S=15]
// Results and what they showed: benchmarks/README.md, "What pruning 1M expired sessions showed".
import { MemoryStore } from '../../dist/stores/memory.js';
import { PerformanceObserver, constants, monitorEventLoopDelay } from 'node:perf_hooks';

const size = Number(process.argv[2] ?? 10_000);
const seconds = Number(process.argv[3] ?? 15);
const KINDS = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
};

const store = new MemoryStore({ prefix: 'probe:' });
const now = Date.now();
const key = (i) => `k${String(i).padStart(43, '0')}`;
// About the size of a small logged-in session's record.
const record = (i) =>
  JSON.stringify({ c: now - (i % 1000), u: now, i: 'x'.repeat(8), d: { user: `user${i}`, n: i } });
for (let i = 0; i < size; i++) await store.create(key(i), record(i), now + 3_600_000);
globalThis.gc?.();
globalThis.gc?.();

const pauses = {};
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = KINDS[entry.detail?.kind] ?? 'other';
    (pauses[kind] ??= []).push(entry.duration);
  }
}).observe({ entryTypes: ['gc'] });
const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();

let reads = 0;
const end = Date.now() + seconds * 1000;
await new Promise((resolve) => {
  const turn = async () => {
    for (let j = 0; j < 50; j++) {
      const entry = await store.get(key(Math.floor(Math.random() * size)));
      const data = JSON.parse(entry.value);
      // What a request allocates besides the session: headers and a body.
      const headers = Object.fromEntries(Array.from({ length: 20 }, (_, h) => [`h${h}`, `v${h}`]));
      if (JSON.stringify({ headers, data }).length > 0) reads++;
    }
    if (Date.now() < end) setImmediate(turn);
    else resolve();
  };
  void turn();
});
delay.disable();

const ms = (ns) => (ns / 1e6).toFixed(1);
const heap = process.memoryUsage().heapUsed / 2 ** 20;
console.log(
  `${size} sessions: heapUsed ${heap.toFixed(0)} MB; ${reads} reads in ${seconds} s; ` +
    `event-loop delay p50 ${ms(delay.percentile(50))} p99 ${ms(delay.percentile(99))} max ${ms(delay.max)} ms`,
);
for (const [kind, list] of Object.entries(pauses)) {
  const sum = list.reduce((a, b) => a + b, 0);
  console.log(
    `  ${kind}: ${list.length} pauses, ${sum.toFixed(0)} ms in all, max ${Math.max(...list).toFixed(1)} ms`,
  );
}
