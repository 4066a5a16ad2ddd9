// `node --import ./test/e2e/ts-register.mjs file.ts` runs a TypeScript entry point from source.
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
