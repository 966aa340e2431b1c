/**
 * A focused look at the contention path: 1,000 closed-loop clients over 100 raw keep-alive
 * connections doing POST /v1/leases and, on 201, DELETE of the session, against a server
 * already running (e.g. started with --cpu-prof). Prints requests per second and statuses.
 *
 *   tsx bench/contend-profile.ts <port> <service key> <product> [seconds] [clients]
 */
import { makeClient } from './http.js';

const [port, key, product, secs = '8', clients = '1000'] = process.argv.slice(2);
if (!port || !key || !product) throw new Error('usage: contend-profile.ts <port> <service key> <product> [seconds]');
const client = makeClient({ host: '127.0.0.1', port: Number(port) }, 100, 'raw');
const statuses: Record<number, number> = {};
let n = 0;
const end = Date.now() + Number(secs) * 1000;
async function loop(): Promise<void> {
  while (Date.now() < end) {
    const r = await client.request({ method: 'POST', path: '/v1/leases', token: key, json: { product }, wantBody: true });
    n++;
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    if (r.status === 201) {
      const s = (JSON.parse(r.body) as { session: { id: string; token: string } }).session;
      const d = await client.request({ method: 'DELETE', path: `/v1/sessions/${s.id}`, token: s.token });
      n++;
      statuses[d.status] = (statuses[d.status] ?? 0) + 1;
    }
  }
}
const t0 = Date.now();
await Promise.all(Array.from({ length: Number(clients) }, loop));
process.stdout.write(`${Math.round(n / ((Date.now() - t0) / 1000))} req/s ${JSON.stringify(statuses)}\n`);
client.close();
