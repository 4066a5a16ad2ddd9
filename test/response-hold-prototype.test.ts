import { describe, expect, it } from 'vitest';
import { ServerResponse } from 'node:http';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { startApp } from './helpers/app.js';
import { createMemoryStore } from '../stores/memory.js';

const SAVING_REQUESTS = 2000;
const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The own property descriptors of Node's and Express's response prototypes, to compare before and after. */
function prototypeMethods(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [label, proto] of [
    ['ServerResponse', ServerResponse.prototype],
    ['express.response', express.response],
  ] as const) {
    for (const name of Object.getOwnPropertyNames(proto))
      out[`${label}.${name}`] = Object.getOwnPropertyDescriptor(proto, name)?.value;
  }
  return out;
}

describe('the response hold changes no prototype', () => {
  it(`http.ServerResponse.prototype and express.response are untouched after ${SAVING_REQUESTS} saving requests`, async () => {
    const { writeHead, write, end } = ServerResponse.prototype;
    const before = prototypeMethods();
    const t = await startApp({
      session: { store: createMemoryStore() },
      routes: (app) => {
        app.post('/save/:n', (req, res) => {
          req.session.set('n', req.params.n);
          if (Number(req.params.n) % 2 === 0) res.redirect('/done');
          else {
            res.write('a');
            res.end('b');
          }
        });
      },
    });
    const client = t.client();
    for (let n = 0; n < SAVING_REQUESTS; n++)
      expect((await client.post(`/save/${n}`)).status).toBe(n % 2 === 0 ? 302 : 200);
    expect(ServerResponse.prototype.writeHead).toBe(writeHead);
    expect(ServerResponse.prototype.write).toBe(write);
    expect(ServerResponse.prototype.end).toBe(end);
    expect(Object.hasOwn(ServerResponse.prototype, 'writeHead')).toBe(true);
    expect(prototypeMethods()).toEqual(before);
  }, 120_000);

  it('nothing in src/ or stores/ reaches for a prototype other than to compare with one', () => {
    // Taking hold of a prototype (`const proto = ServerResponse.prototype`) is how a patch starts,
    // so any code line naming one must be a plain === / !== comparison.
    const comparison = /(===|!==)\s*[\w.]+\.prototype\b|\.prototype\s*(===|!==)/;
    const offending: string[] = [];
    for (const dir of ['src', 'stores']) {
      for (const file of readdirSync(join(ROOT, dir)).filter((f) => f.endsWith('.ts'))) {
        readFileSync(join(ROOT, dir, file), 'utf8')
          .split('\n')
          .forEach((line, i) => {
            const code = line.replace(/\/\/.*$/, '').trim();
            if (code.startsWith('*') || code.startsWith('/*')) return;
            const reaches = /\.prototype\b/.test(code) && !comparison.test(code);
            if (reaches || /setPrototypeOf|__proto__\s*=[^=]|\.__proto__\b/.test(code))
              offending.push(`${dir}/${file}:${i + 1}`);
          });
      }
    }
    expect(offending).toEqual([]);
  });
});
