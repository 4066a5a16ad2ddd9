import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../stores/memory.js';
import { CountingStore } from './helpers/counting-store.js';
import { startApp } from './helpers/app.js';
import { mountSessionRoutes } from './helpers/routes.js';
import { randomPrefix } from './helpers/services.js';

// The cookie is read and verified before any store is asked, so one store shows it for all.
async function setup() {
  const store = new CountingStore(createMemoryStore({ prefix: randomPrefix('dup') }));
  const t = await startApp({ session: { store }, routes: mountSessionRoutes });
  const victim = t.client();
  await victim.post('/set/who/victim');
  const attacker = t.client();
  await attacker.post('/set/who/attacker');
  store.reset();
  return { store, t, victim: victim.cookie() as string, attacker: attacker.cookie() as string };
}

/** GET /get/who with exactly this Cookie header. */
async function who(t: Awaited<ReturnType<typeof setup>>['t'], cookie: string): Promise<unknown> {
  const reply = await t.client().get('/get/who', { cookie });
  expect(reply.status).toBe(200);
  return reply.json<{ value: unknown }>().value;
}

describe('several session cookies in one request (issue 18, point 3)', () => {
  it('an invalid sid before or after the valid one never masks it', async () => {
    const { t, victim } = await setup();
    const forged = `${victim.slice(0, -1)}${victim.endsWith('A') ? 'B' : 'A'}`;
    for (const junk of ['garbage', '', forged, '"quoted"', '%zz']) {
      expect(await who(t, `sid=${junk}; sid=${victim}`)).toBe('victim');
      expect(await who(t, `sid=${victim}; theme=dark; sid=${junk}`)).toBe('victim');
      expect(await who(t, ` sid = ${junk} ;sid=${victim}`)).toBe('victim');
    }
  });

  it('two different valid session cookies, in either order, mean no session and no store read', async () => {
    const { store, t, victim, attacker } = await setup();
    expect(await who(t, `sid=${attacker}; sid=${victim}`)).toBeNull();
    expect(await who(t, `sid=${victim}; sid=${attacker}`)).toBeNull();
    expect(await who(t, `sid=${victim}; sid=garbage; sid=${attacker}`)).toBeNull();
    expect(store.total).toBe(0);
  });

  it('the same valid cookie sent twice is that session, read once', async () => {
    const { store, t, victim } = await setup();
    expect(await who(t, `sid=${victim}; sid=${victim}`)).toBe('victim');
    expect(store.nonZero()).toEqual({ get: 1 });
  });

  it('a cookie whose name merely contains the session name is not a duplicate', async () => {
    const { t, victim, attacker } = await setup();
    expect(await who(t, `xsid=${attacker}; sid=${victim}; sidx=${attacker}`)).toBe('victim');
  });

  it('writing under an ambiguous pair starts a fresh session and touches neither record', async () => {
    const { store, t, victim, attacker } = await setup();
    const reply = await t
      .client()
      .post('/set/who/fresh', { cookie: `sid=${attacker}; sid=${victim}` });
    expect(reply.status).toBe(200);
    expect(store.nonZero()).toEqual({ create: 1 });
    expect(await who(t, `sid=${victim}`)).toBe('victim');
    expect(await who(t, `sid=${attacker}`)).toBe('attacker');
  });
});
