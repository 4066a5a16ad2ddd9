import { STORES_UNDER_TEST } from './helpers/stores.js';
import { describeWithServer } from './helpers/services.js';
import { runMiddlewareSuite } from './helpers/middleware-suite.js';

// The same middleware behaviour, unchanged, on every built-in store: on Express and on plain node:http,
// and on Express with sealed records; server stores skip (outside CI) when unreachable.
for (const store of STORES_UNDER_TEST) {
  const all = (): void => {
    runMiddlewareSuite(store, 'express');
    runMiddlewareSuite(store, 'node');
    runMiddlewareSuite(store, 'express', { sealRecords: true });
  };
  if (store.serverUrl === undefined) all();
  else await describeWithServer(`${store.name} server`, store.serverUrl, all);
}
