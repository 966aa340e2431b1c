/**
 * A focused look at the heartbeat path: starts `sessions` sessions, then heartbeats them in a
 * closed loop over 100 raw keep-alive connections for a while, against a server already
 * running (e.g. started with --cpu-prof). Prints heartbeats per second.
 *
 *   tsx bench/heartbeat-profile.ts <port> <service key> <product> [seconds] [sessions]
 */
import { makeClient } from './http.js';

const [port, key, product, secs = '8', count = '1000'] = process.argv.slice(2);
if (!port || !key || !product) throw new Error('usage: heartbeat-profile.ts <port> <service key> <product> [seconds] [sessions]');
const client = makeClient({ host: '127.0.0.1', port: Number(port) }, 100, 'raw');
const sessions: { id: string; token: string }[] = [];
await Promise.all(Array.from({ length: 100 }, async () => {
  while (sessions.length < Number(count)) {
    const r = await client.request({ method: 'POST', path: '/v1/leases', token: key, json: { product }, wantBody: true });
    if (r.status !== 201) throw new Error(`acquire: ${r.status} ${r.body}`);
    sessions.push((JSON.parse(r.body) as { session: { id: string; token: string } }).session);
  }
}));
let n = 0;
let i = 0;
const end = Date.now() + Number(secs) * 1000;
const t0 = Date.now();
await Promise.all(Array.from({ length: 100 }, async () => {
  while (Date.now() < end) {
    const s = sessions[i++ % sessions.length]!;
    const r = await client.request({ method: 'POST', path: `/v1/sessions/${s.id}/heartbeat`, token: s.token });
    if (r.status !== 200) throw new Error(`heartbeat: ${r.status}`);
    n++;
  }
}));
process.stdout.write(`${Math.round(n / ((Date.now() - t0) / 1000))} heartbeats/s\n`);
client.close();
