// Node module hooks that run the project's TypeScript sources directly in a child process:
// types are stripped per file with `ts.transpileModule` (no type check; `npm test` runs tsc for that),
// and the `.js` specifiers our sources use are mapped to the `.ts` files beside them.
// Tests use this instead of `dist/` so a child process always runs the code under test, never a stale build.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const COMPILER_OPTIONS = {
  module: 'esnext',
  target: 'es2022',
  verbatimModuleSyntax: true,
  inlineSourceMap: true,
};
// Loading the TypeScript compiler costs more than the rest of a child's start-up, so output is
// cached by content hash and the compiler is only imported on a miss.
const CACHE_DIR = fileURLToPath(
  new URL('../../node_modules/.cache/kvsession-ts/', import.meta.url),
);
let typescript;

/** Maps `./x.js` imported from a .ts file to `./x.ts` when only the latter exists. */
export async function resolve(specifier, context, nextResolve) {
  const parent = context.parentURL;
  if (
    parent !== undefined &&
    parent.endsWith('.ts') &&
    /^\.\.?\//.test(specifier) &&
    specifier.endsWith('.js')
  ) {
    const candidate = new URL(specifier.slice(0, -3) + '.ts', parent);
    if (
      existsSync(fileURLToPath(candidate)) &&
      !existsSync(fileURLToPath(new URL(specifier, parent)))
    ) {
      return { url: candidate.href, format: 'module', shortCircuit: true };
    }
  }
  return nextResolve(specifier, context);
}

/** Strips the types of a .ts module. */
export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
  const path = fileURLToPath(url);
  const source = await readFile(path, 'utf8');
  return { format: 'module', source: await transpile(path, source), shortCircuit: true };
}

async function transpile(path, source) {
  const hash = createHash('sha256')
    .update(JSON.stringify(COMPILER_OPTIONS))
    .update(path)
    .update('\0')
    .update(source)
    .digest('hex');
  const cached = `${CACHE_DIR}${hash}.js`;
  try {
    return await readFile(cached, 'utf8');
  } catch {
    // Not cached yet.
  }
  typescript ??= (await import('typescript')).default;
  const { outputText } = typescript.transpileModule(source, {
    compilerOptions: typescript.convertCompilerOptionsFromJson(COMPILER_OPTIONS, '').options,
    fileName: path,
  });
  try {
    await mkdir(CACHE_DIR, { recursive: true });
    // Write-then-rename: a concurrent child never reads a half-written file.
    const temp = `${cached}.${process.pid}.tmp`;
    await writeFile(temp, outputText);
    await rename(temp, cached);
  } catch {
    // A read-only tree just means no cache.
  }
  return outputText;
}
