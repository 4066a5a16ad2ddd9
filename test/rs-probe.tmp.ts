import { startSentinelSet, SENTINEL_MASTER } from './helpers/redis-topologies.ts';
import { createSentinel } from 'redis';
const set = await startSentinelSet([7016, 7017, 7018, 7019, 7020]);
try {
  for (const opts of [{}, { nodeClientOptions: { disableOfflineQueue: true } }, {}, { nodeClientOptions: { socket: { connectTimeout: 2000 } } }]) {
    const s = createSentinel({ name: SENTINEL_MASTER, sentinelRootNodes: [{ host: '127.0.0.1', port: 7018 }], ...opts });
    s.on('error', (e) => console.log('err', e.message));
    let t = performance.now();
    await s.connect(); console.log(JSON.stringify(opts), 'connect', (performance.now() - t).toFixed(1)); t = performance.now();
    await s.sendCommand(false, ['PING']); console.log('ping', (performance.now() - t).toFixed(1));
    await s.destroy();
  }
} finally { await set.stop(); }
