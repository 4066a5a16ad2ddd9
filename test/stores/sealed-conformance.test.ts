import { describe, it } from 'vitest';
import { runStoreConformance } from '../../conformance/index.js';
import { STORES_UNDER_TEST } from '../helpers/stores.js';
import { CONFORMANCE_PREFIX, describeWithServer } from '../helpers/services.js';

// sealRecords changes only what record text the store is given: the groups that carry records
// (the user index) run again on every built-in store with sealed text; the others store opaque text either way.
const RECORD_GROUPS_ONLY = {
  basic: false,
  expiry: false,
  touch: false,
  conditional: false,
  isolation: false,
  values: false,
  prune: false,
  close: false,
  sealRecords: true,
  prefix: CONFORMANCE_PREFIX,
};

for (const under of STORES_UNDER_TEST) {
  const run = (): void =>
    runStoreConformance(it, ({ prefix }) => under.make(prefix), RECORD_GROUPS_ONLY);
  if (under.serverUrl === undefined) describe(`${under.name} store (sealed records)`, run);
  else await describeWithServer(`${under.name} store (sealed records)`, under.serverUrl, run);
}
