import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

// Prints where a .cpuprofile spent its busy time: the top functions by self time, totals per file, and
// the top source lines (a property store that builds a hidden class shows up as one line, not a function).
// usage: node dist/benchmarks/run.js profile <file.cpuprofile> [top=25]

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  /** Samples per 1-based source line in which this node was the running function. */
  positionTicks?: { line: number; ticks: number }[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time (ms) per function and per file, idle time apart: a benchmark server idles between its cells. */
export function summarizeProfile(profile: Profile): {
  idleMs: number;
  functions: [string, number][];
  files: [string, number][];
  lines: [string, number][];
} {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  let idleMs = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    if (node === undefined) return;
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    if (node.callFrame.functionName === '(idle)') {
      idleMs += ms;
      return;
    }
    const where = shortUrl(node.callFrame.url);
    const name = `${node.callFrame.functionName || '(anonymous)'} ${where}:${node.callFrame.lineNumber + 1}`;
    fn.set(name, (fn.get(name) ?? 0) + ms);
    file.set(where || '(native)', (file.get(where || '(native)') ?? 0) + ms);
  });
  // Line ticks are sample counts: each gets the mean busy sample's time.
  const busyMs = [...fn.values()].reduce((a, ms) => a + ms, 0);
  const busySamples = profile.samples.filter(
    (id) => byId.get(id)?.callFrame.functionName !== '(idle)',
  ).length;
  const line = new Map<string, number>();
  for (const node of profile.nodes) {
    const where = shortUrl(node.callFrame.url);
    if (where === '') continue;
    for (const { line: at, ticks } of node.positionTicks ?? []) {
      const name = `${where}:${at}`;
      line.set(name, (line.get(name) ?? 0) + (ticks * busyMs) / Math.max(1, busySamples));
    }
  }
  const sorted = (m: Map<string, number>): [string, number][] => [...m].sort((a, b) => b[1] - a[1]);
  return { idleMs, functions: sorted(fn), files: sorted(file), lines: sorted(line) };
}

function shortUrl(url: string): string {
  if (url === '') return '';
  const path = url.startsWith('file:') ? fileURLToPath(url) : url;
  const nm = path.lastIndexOf('node_modules/');
  return nm >= 0 ? path.slice(nm + 'node_modules/'.length) : relative(process.cwd(), path);
}

/** `run.js profile <file> [top]`: prints the summary of one .cpuprofile. */
export async function runProfileSummary(argv: readonly string[]): Promise<void> {
  const [path, topArg] = argv;
  if (path === undefined) {
    process.stderr.write('usage: node dist/benchmarks/run.js profile <file.cpuprofile> [top]\n');
    process.exitCode = 2;
    return;
  }
  const top = Number(topArg ?? 25);
  const { idleMs, functions, files, lines } = summarizeProfile(
    JSON.parse(await readFile(path, 'utf8')) as Profile,
  );
  const busy = functions.reduce((a, [, ms]) => a + ms, 0);
  const pct = (ms: number): string => `${((100 * ms) / busy).toFixed(1).padStart(5)}%`;
  const out = [
    `busy ${busy.toFixed(0)} ms, idle ${idleMs.toFixed(0)} ms; percentages of busy time`,
    '',
    'self time by function:',
  ];
  for (const [name, ms] of functions.slice(0, top)) out.push(`${pct(ms)}  ${name}`);
  out.push('', 'self time by file:');
  for (const [name, ms] of files.slice(0, top)) out.push(`${pct(ms)}  ${name}`);
  out.push('', 'self time by source line (JavaScript only):');
  for (const [name, ms] of lines.slice(0, top)) out.push(`${pct(ms)}  ${name}`);
  process.stdout.write(`${out.join('\n')}\n`);
}
