import { execFile } from 'node:child_process';
import { cp, mkdtemp, mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The package as users get it: `npm pack` (which builds through prepack), installed into a fresh app
// outside this repository, and every ```ts block of README.md and docs/*.md type-checked against it.
const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const NPM_TIMEOUT_MS = 240_000;
const TSC = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

let work: string;
let tarball: string;
let packOutput: string;
let files: string[];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kvsession-pack-'));
  const packed = await run('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: root,
    timeout: NPM_TIMEOUT_MS,
  });
  packOutput = packed.stderr;
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  tarball = join(work, info!.filename);
  files = info!.files.map((f) => f.path);
}, NPM_TIMEOUT_MS);

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('a CommonJS app require()s kvsession, kvsession/express-session and kvsession/conformance (Node >= 20.19 require(esm)) and serves requests', async () => {
    // Packed once, with the other checks here: a second pack of its own would race this file's prepack build.
    const app = await mkdtemp(join(tmpdir(), 'kvsession-cjs-'));
    try {
      const pkg = join(app, 'node_modules', 'kvsession');
      await mkdir(pkg, { recursive: true });
      await run('tar', ['-xzf', tarball, '-C', pkg, '--strip-components=1']);
      // The package's dependencies and the app's own (express), from this checkout's node_modules.
      for (const dep of ['cookie', 'keyv', 'debug', 'ms', 'express'])
        await symlink(join(root, 'node_modules', dep), join(app, 'node_modules', dep), 'dir');
      await cp(join(root, 'test', 'fixtures', 'cjs-app.cjs'), join(app, 'app.cjs'));
      const { stdout, stderr } = await run(process.execPath, ['app.cjs'], { cwd: app });
      expect(JSON.parse(stdout)).toEqual({
        factory: 'function',
        defaultIsSame: true,
        conformance: 'function',
        counts: {
          native: { seen: [1, 2], cookieName: 'sid' },
          dropin: { seen: [1, 2], cookieName: 'connect.sid' },
        },
        code: 'ERR_KVSESSION_WEAK_SECRET',
      });
      // No ExperimentalWarning or other noise for the app to see.
      expect(stderr).toBe('');
    } finally {
      await rm(app, { recursive: true, force: true });
    }
  });

  it('npm pack prints no warning from our own scripts', () => {
    expect(packOutput.split('\n').filter((line) => /warn/i.test(line))).toEqual([]);
  });

  it('holds the package and nothing else: no source maps, no benchmarks, demo or tests', () => {
    for (const needed of [
      'LICENSE',
      'README.md',
      'package.json',
      'dist/src/index.js',
      'dist/cli/index.js',
      'dist/conformance/index.js',
    ]) {
      expect(files).toContain(needed);
    }
    for (const store of ['memory', 'file', 'sqlite', 'redis', 'postgres', 'keyv'])
      expect(files).toContain(`dist/stores/${store}.js`);
    expect(
      files.filter((f) => f.endsWith('.map') || /^dist\/(benchmarks|demo|test)\//.test(f)),
    ).toEqual([]);
  });

  it('README.md references no image the tarball lacks', async () => {
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    const images = [...readme.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1] as string);
    expect(images.filter((src) => !/^https?:/.test(src) && !files.includes(src))).toEqual([]);
  });

  it(
    'installs into a fresh app without warnings, and its entry points load',
    async () => {
      const app = join(work, 'app');
      await mkdir(app);
      await writeFile(
        join(app, 'package.json'),
        JSON.stringify({ name: 'fresh-app', private: true, type: 'module' }),
      );
      const installed = await run(
        'npm',
        ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball],
        { cwd: app, timeout: NPM_TIMEOUT_MS },
      );
      expect(installed.stderr.split('\n').filter((line) => /warn/i.test(line))).toEqual([]);
      const script = `
      const { kvSession, createStore } = await import('kvsession');
      const { createMemoryStore } = await import('kvsession/stores/memory');
      const { runStoreConformance, runBasicTests } = await import('kvsession/conformance');
      const sessions = kvSession({ secret: 'x'.repeat(32), store: 'memory://', pruneInterval: false });
      await sessions.close();
      await createStore('memory://').close();
      console.log([typeof sessions, typeof createMemoryStore, typeof runStoreConformance, typeof runBasicTests].join(' '));`;
      const loaded = await run(process.execPath, ['--input-type=module', '-e', script], {
        cwd: app,
      });
      expect(loaded.stdout.trim()).toBe('function function function function');
    },
    NPM_TIMEOUT_MS,
  );

  it(
    'every ```ts block in README.md and docs/*.md type-checks under strict against the packed package',
    async () => {
      // Inside the repository, so express, vitest and the @types resolve from its node_modules; the package
      // itself resolves from the extracted tarball next to the blocks, never from the source tree.
      const check = await mkdtemp(join(root, '.doc-check-'));
      try {
        await mkdir(join(check, 'node_modules', 'kvsession'), { recursive: true });
        await run('tar', [
          '-xzf',
          tarball,
          '-C',
          join(check, 'node_modules', 'kvsession'),
          '--strip-components=1',
        ]);
        const blocks = await docBlocks();
        expect(blocks.length).toBeGreaterThanOrEqual(4);
        // A block that augments SessionData would retype every other block in one program: it gets its own.
        const programs = new Map<string, string[]>();
        for (const [i, block] of blocks.entries()) {
          const name = `block-${i}.ts`;
          await writeFile(join(check, name), `// ${block.from}\n${block.code}`);
          const program = block.code.includes('declare module') ? name : 'shared';
          programs.set(program, [...(programs.get(program) ?? []), name]);
        }
        const errors: string[] = [];
        for (const [program, names] of programs) {
          await writeFile(
            join(check, `tsconfig.${program}.json`),
            JSON.stringify({ ...DOC_TSCONFIG, include: names }),
          );
          const result = await run(
            process.execPath,
            [TSC, '-p', join(check, `tsconfig.${program}.json`)],
            { cwd: check },
          ).catch((err: { stdout?: string }) => err);
          if (result.stdout) errors.push(result.stdout);
        }
        expect(errors).toEqual([]);
      } finally {
        await rm(check, { recursive: true, force: true });
      }
    },
    NPM_TIMEOUT_MS,
  );
});

const DOC_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
    // Blocks are separate modules but may declare the same names (app, sessions).
    moduleDetection: 'force',
  },
};

/** Every ```ts block of README.md and docs/*.md, with where it came from. */
async function docBlocks(): Promise<{ from: string; code: string }[]> {
  const docs = (await readdir(join(root, 'docs')))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`);
  const blocks: { from: string; code: string }[] = [];
  for (const file of ['README.md', ...docs]) {
    const text = await readFile(join(root, file), 'utf8');
    for (const m of text.matchAll(/^```ts\n([\s\S]*?)^```$/gm))
      blocks.push({ from: file, code: m[1] as string });
  }
  return blocks;
}
