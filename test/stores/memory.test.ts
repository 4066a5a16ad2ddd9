import { it } from 'vitest';
import { runStoreConformance } from '../../conformance/index.js';
import { createMemoryStore } from '../../stores/memory.js';

runStoreConformance(it, ({ prefix }) => createMemoryStore({ prefix }));
