import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

// Prints where a .cpuprofile spent its time: the top functions by self time, then totals per file.
// usage: node dist/benchmarks/profile-summary.js <file.cpuprofile> [top=25]

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time in ms per function and per file. */
export function summarizeProfile(profile: Profile): { functions: [string, number][]; files: [string, number][] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    if (node === undefined) return;
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const where = shortUrl(node.callFrame.url);
    const name = `${node.callFrame.functionName || '(anonymous)'} ${where}:${node.callFrame.lineNumber + 1}`;
    fn.set(name, (fn.get(name) ?? 0) + ms);
    file.set(where || '(native)', (file.get(where || '(native)') ?? 0) + ms);
  });
  const sorted = (m: Map<string, number>): [string, number][] => [...m].sort((a, b) => b[1] - a[1]);
  return { functions: sorted(fn), files: sorted(file) };
}

function shortUrl(url: string): string {
  if (url === '') return '';
  const path = url.startsWith('file:') ? fileURLToPath(url) : url;
  const nm = path.lastIndexOf('node_modules/');
  return nm >= 0 ? path.slice(nm + 'node_modules/'.length) : relative(process.cwd(), path);
}

async function main(): Promise<void> {
  const [path, topArg] = process.argv.slice(2);
  if (path === undefined) {
    process.stderr.write('usage: node dist/benchmarks/profile-summary.js <file.cpuprofile> [top]\n');
    process.exitCode = 2;
    return;
  }
  const top = Number(topArg ?? 25);
  const { functions, files } = summarizeProfile(JSON.parse(await readFile(path, 'utf8')) as Profile);
  const total = functions.reduce((a, [, ms]) => a + ms, 0);
  const pct = (ms: number): string => `${((100 * ms) / total).toFixed(1).padStart(5)}%`;
  process.stdout.write(`total ${total.toFixed(0)} ms sampled\n\nself time by function:\n`);
  for (const [name, ms] of functions.slice(0, top)) process.stdout.write(`${pct(ms)}  ${name}\n`);
  process.stdout.write('\nself time by file:\n');
  for (const [name, ms] of files.slice(0, top)) process.stdout.write(`${pct(ms)}  ${name}\n`);
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) await main();
