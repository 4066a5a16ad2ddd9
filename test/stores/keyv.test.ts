import { it } from 'vitest';
import Keyv from 'keyv';
import { runStoreConformance } from '../conformance/index.js';
import { createKeyvStore } from '../../stores/keyv.js';

// One fresh Keyv (and Map) per store: an adapter shared by two Keyv instances corrupts clear().
runStoreConformance(it, ({ prefix }) => createKeyvStore(new Keyv({ store: new Map() }), { prefix }), { concurrency: false });
