import { describe, it } from 'vitest';
import type { Suite } from '../conformance/util.js';
import { indexRecordTests } from './helpers/user-index-records/plain.js';
import { STORES_UNDER_TEST } from './helpers/stores.js';
import { describeWithServer } from './helpers/services.js';

// The user index's own record formats (heads, slots, the old one-record index, sealed forgeries, rotation)
// on every built-in store. They plant and read index records directly, so they live here rather than in
// the published conformance suite, which drives the index only through kvSession()'s public API.
for (const under of STORES_UNDER_TEST) {
  for (const sealRecords of [false, true]) {
    const suite: Suite = {
      makeStore: ({ prefix }) => under.make(prefix),
      options: { sealRecords },
      test: (name, fn) => it(name, fn, 20_000),
    };
    const title = `${under.name} store: user index records${sealRecords ? ' (sealed)' : ''}`;
    if (under.serverUrl === undefined) describe(title, () => indexRecordTests(suite));
    else await describeWithServer(title, under.serverUrl, () => indexRecordTests(suite));
  }
}
