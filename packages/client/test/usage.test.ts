/**
 * reportUsage against a real server over real HTTP: a report whose answer is lost is retried
 * under the same idempotency key and counted once; a refusal is not retried.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { reportUsage, type FetchLike } from '../src/index.js';
import { isSeatkeeperError } from '../src/errors.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let s: TestServer;
beforeEach(async () => {
  s = await startTestServer();
  expect((await s.call('POST', '/v1/products', { key: 'scan', quota: { units: 100, overage: 5 } })).status).toBe(201);
});
afterEach(async () => s.close());

it('retries a report whose answer was lost and counts it once', async () => {
  let calls = 0;
  // The first request reaches the server, but its answer is "lost" on the way back.
  const flaky: FetchLike = async (input, init) => {
    calls++;
    const res = await fetch(input, init);
    if (calls === 1) {
      await res.text();
      throw new TypeError('fetch failed: connection reset');
    }
    return res;
  };
  const answer = await reportUsage({ url: s.url, token: s.owner, fetch: flaky, random: () => 0 /* full jitter drawn at 0: retry at once */ }, { product: 'scan', units: 60, device: 'd1' });
  expect(calls).toBe(2);
  expect(answer).toMatchObject({ used: 60, quota: 100, limit: 105, percent: 60, warning: false, replayed: true });
  const again = await reportUsage({ url: s.url, token: s.owner }, { product: 'scan', units: 45 });
  expect(again).toMatchObject({ used: 105, warning: true, replayed: false });
});

it('does not retry a refusal', async () => {
  let calls = 0;
  const counting: FetchLike = (input, init) => {
    calls++;
    return fetch(input, init);
  };
  const e = await reportUsage({ url: s.url, token: s.owner, fetch: counting }, { product: 'scan', units: 106 }).catch((x: unknown) => x);
  expect(isSeatkeeperError(e, 'quota-exhausted')).toBe(true);
  expect(calls).toBe(1);
});
