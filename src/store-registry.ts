// A composition root: the one place the package's entries (src/index.ts, src/express-session/index.ts)
// join the core to the stores. Imported for its effect, so the core itself knows only the StoreSource contract.
import { resolveStore } from '../stores/index.js';
import { installStoreSource } from './store-source.js';

installStoreSource(resolveStore);
