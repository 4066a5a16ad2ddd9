import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

/** The codes KvSessionErrorCode declares, read from its source. */
function declaredCodes(): string[] {
  const source = readFileSync(join(root, 'src', 'errors.ts'), 'utf8');
  const union = /export type KvSessionErrorCode =([^;]*);/.exec(source)?.[1] ?? '';
  return [...union.matchAll(/'(ERR_KVSESSION_[A-Z_]+)'/g)].map((m) => m[1] as string);
}

/** The text of every shipped module, errors.ts without its declaration of the codes. */
function shippedSources(): string {
  const errors = readFileSync(join(root, 'src', 'errors.ts'), 'utf8').replace(
    /export type KvSessionErrorCode =[^;]*;/,
    '',
  );
  const texts: string[] = [errors];
  for (const dir of ['src', 'stores']) {
    for (const name of readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })) {
      if (name.endsWith('.ts') && !(dir === 'src' && name === 'errors.ts'))
        texts.push(readFileSync(join(root, dir, name), 'utf8'));
    }
  }
  return texts.join('\n');
}

describe('KvSessionErrorCode', () => {
  it('declares only codes that some module throws', () => {
    const codes = declaredCodes();
    expect(codes.length).toBeGreaterThan(10);
    const sources = shippedSources();
    expect(codes.filter((code) => !sources.includes(`'${code}'`))).toEqual([]);
  });
});
