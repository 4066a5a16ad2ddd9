import { STORES_UNDER_TEST } from './helpers/stores.js';
import { describeWithServer } from './helpers/services.js';
import { runMiddlewareSuite } from './helpers/middleware-suite.js';

// The same middleware behaviour, unchanged, on every built-in store, with plain and with sealed records;
// server stores skip (outside CI) when unreachable.
for (const store of STORES_UNDER_TEST) {
  for (const session of [{}, { sealRecords: true }]) {
    if (store.serverUrl === undefined) runMiddlewareSuite(store, session);
    else await describeWithServer(`${store.name} server`, store.serverUrl, () => runMiddlewareSuite(store, session));
  }
}
