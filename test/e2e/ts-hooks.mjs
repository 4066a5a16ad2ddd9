// Node module hooks that run the project's TypeScript sources directly in a child process:
// types are stripped per file with `ts.transpileModule` (no type check; `npm test` runs tsc for that),
// and the `.js` specifiers our sources use are mapped to the `.ts` files beside them.
// Tests use this instead of `dist/` so a child process always runs the code under test, never a stale build.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const COMPILER_OPTIONS = {
  module: ts.ModuleKind.ESNext,
  target: ts.ScriptTarget.ES2022,
  verbatimModuleSyntax: true,
  inlineSourceMap: true,
};

/** Maps `./x.js` imported from a .ts file to `./x.ts` when only the latter exists. */
export async function resolve(specifier, context, nextResolve) {
  const parent = context.parentURL;
  if (parent !== undefined && parent.endsWith('.ts') && /^\.\.?\//.test(specifier) && specifier.endsWith('.js')) {
    const candidate = new URL(specifier.slice(0, -3) + '.ts', parent);
    if (existsSync(fileURLToPath(candidate)) && !existsSync(fileURLToPath(new URL(specifier, parent)))) {
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
  const { outputText } = ts.transpileModule(source, { compilerOptions: COMPILER_OPTIONS, fileName: path });
  return { format: 'module', source: outputText, shortCircuit: true };
}
