import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './e2e/from-source.js';

const run = promisify(execFile);

// The packed tarball, installed as an app would get it: only what `files` ships, resolved through `exports`.
// It packs the built dist/ (npm test's CI step builds it through `npm ci`'s prepare script).
describe('CommonJS apps can require() every entry point of the packed package (Node >= 20.19 require(esm))', () => {
  let dir = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kvsession-cjs-'));
    const { stdout } = await run(
      'npm',
      ['pack', '--ignore-scripts', '--json', '--pack-destination', dir],
      { cwd: ROOT },
    );
    const [{ filename }] = JSON.parse(stdout) as [{ filename: string }];
    const pkg = join(dir, 'node_modules', 'kvsession');
    mkdirSync(pkg, { recursive: true });
    await run('tar', ['-xzf', join(dir, filename), '-C', pkg, '--strip-components=1']);
    // The package's dependencies and the app's own (express), from this checkout's node_modules.
    for (const dep of ['cookie', 'keyv', 'express'])
      symlinkSync(join(ROOT, 'node_modules', dep), join(dir, 'node_modules', dep), 'dir');
    cpSync(join(ROOT, 'test', 'fixtures', 'cjs-app.cjs'), join(dir, 'app.cjs'));
  }, 120_000);
  afterAll(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it("require('kvsession'), require('kvsession/express-session') and require('kvsession/conformance') load and serve requests", async () => {
    const { stdout, stderr } = await run(process.execPath, ['app.cjs'], { cwd: dir });
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
  });
});
