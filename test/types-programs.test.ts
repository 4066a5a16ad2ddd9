import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const TSC = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));

/** Type-checks one app program under test/types-programs; resolves tsc's diagnostics ('' when clean). */
async function typecheck(project: string): Promise<string> {
  const path = fileURLToPath(new URL(`./types-programs/${project}`, import.meta.url));
  try {
    await run(process.execPath, [TSC, '-p', path], { maxBuffer: 1 << 22 });
    return '';
  } catch (err) {
    return String((err as { stdout?: string }).stdout ?? err);
  }
}

// Whole apps, each its own program, as users compile them (strict; see tsconfig.base.json).
describe('TypeScript apps using kvsession', () => {
  it('an express-session app on the drop-in with @types/passport and @types/express-session type-checks under strict, lib checks included', async () => {
    expect(await typecheck('tsconfig.dropin.json')).toBe('');
  }, 60_000);

  it('a kvSession() app type-checks under strict, lib checks included, with req.session typed as kvsession Session', async () => {
    expect(await typecheck('tsconfig.native-only.json')).toBe('');
  }, 60_000);

  it('a kvSession() app that also has @types/express-session in its program type-checks (skipLibCheck, as tsc --init sets it)', async () => {
    expect(await typecheck('tsconfig.native.json')).toBe('');
  }, 60_000);
});
