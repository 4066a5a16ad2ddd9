import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest ancestor holding kvsession's package.json, whether we run from dist/ or not. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (
      existsSync(pkg) &&
      (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'kvsession'
    )
      return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('benchmarks: cannot find the kvsession repository root');
    dir = parent;
  }
}

/** A compiled TypeScript server, beside this module in dist/benchmarks/servers/. */
export function compiledServer(name: string): string {
  return fileURLToPath(new URL(`./servers/${name}.js`, import.meta.url));
}

/** A plain-JS server, which tsc does not copy: it stays in the source tree. */
export function sourceServer(name: string): string {
  return join(repoRoot(), 'benchmarks', 'servers', `${name}.mjs`);
}

/** Where reports and profiles go (in the source tree, so they can be committed). */
export function resultsDir(): string {
  return join(repoRoot(), 'benchmarks', 'results');
}
