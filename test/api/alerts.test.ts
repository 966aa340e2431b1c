/**
 * Alerts (SPEC §6): thresholds that fire once per crossing, one notification listing every
 * condition met, delivered over real SMTP (an smtp-server in this process) and to a real
 * HTTP receiver that checks the webhook signature — with a fake clock, on both stores.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { harness, type Harness } from '../helpers/app.js';
import { storeKinds } from '../helpers/stores.js';
import { verifySignature } from '../../src/server/notify/webhook.js';
import { openSse } from '../helpers/sse.js';

const kinds = await storeKinds();

/** Nodemailer wraps long lines with quoted-printable soft breaks. */
function decodeQuotedPrintable(s: string): string {
  return s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

interface Received {
  from: string;
  to: string[];
  data: string;
}

async function smtpSink(): Promise<{ port: number; messages: Received[]; close(): Promise<void> }> {
  const messages: Received[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        messages.push({
          from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          data: decodeQuotedPrintable(Buffer.concat(chunks).toString('utf8')),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { port, messages, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

interface Hit {
  headers: Record<string, string | string[] | undefined>;
  body: string;
  valid: boolean;
}

/** A webhook receiver that verifies signatures and answers with the next status in `plan`. */
async function receiver(secret: () => string, now: () => number, plan: number[]): Promise<{ url: string; hits: Hit[]; close(): Promise<void> }> {
  const hits: Hit[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const sig = String(req.headers['seatkeeper-signature'] ?? '');
      hits.push({ headers: req.headers, body, valid: verifySignature(secret(), sig, body, Math.floor(now() / 1000)) });
      res.statusCode = plan.shift() ?? 200;
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/seatkeeper`, hits, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe.each(kinds)('alerts ($name)', (kind) => {
  let h: Harness;
  let smtp: Awaited<ReturnType<typeof smtpSink>>;
  beforeEach(async () => {
    smtp = await smtpSink();
    h = await harness(kind, { smtpUrl: `smtp://127.0.0.1:${smtp.port}`, mailFrom: 'alerts@seatkeeper.test' });
  });
  afterEach(async () => {
    await h.close();
    await smtp.close();
  });

  const acquire = (body: Record<string, unknown>) => h.req('POST', '/v1/leases', h.owner, body);
  const check = async () => (await h.req('POST', '/v1/alerts/check', h.owner)).body.fired as { kind: string; threshold: number; value: number }[];
  async function seatsProduct(seats: number) {
    await h.req('POST', '/v1/products', h.owner, { key: 'cad', heartbeat: { interval: 60, timeout: 3600 } });
    return (await h.req('POST', '/v1/licenses', h.owner, { product: 'cad', seats, name: 'CAD floating' })).body as { id: string };
  }

  it('fire each threshold once per crossing, and again after falling below it', async () => {
    const lic = await seatsProduct(4);
    expect(await check()).toEqual([]);
    const s: { id: string; token: string }[] = [];
    for (let i = 0; i < 3; i++) s.push((await acquire({ product: 'cad' })).body.session);
    expect(await check()).toEqual([expect.objectContaining({ kind: 'seats', license: lic.id, product: 'cad', threshold: 75, value: 75 })]);
    expect(await check()).toEqual([]);
    s.push((await acquire({ product: 'cad' })).body.session);
    expect((await check()).map((a) => a.threshold)).toEqual([90, 100]);
    await h.req('DELETE', `/v1/sessions/${s[3]!.id}`, s[3]!.token);
    await h.req('DELETE', `/v1/sessions/${s[2]!.id}`, s[2]!.token);
    expect(await check()).toEqual([]); // 50 %: below every threshold, all re-armed
    s.push((await acquire({ product: 'cad' })).body.session);
    expect((await check()).map((a) => a.threshold)).toEqual([75]);
    const listed = (await h.req('GET', '/v1/alerts', h.owner)).body.items;
    expect(listed.map((a: { threshold: number }) => a.threshold)).toEqual([75, 100, 90, 75]);
  });

  it('run on the schedule of alertCheckInterval, once per interval', async () => {
    await seatsProduct(1);
    await h.req('PATCH', '/v1/settings', h.owner, { alertCheckInterval: 60 });
    await h.app.ctx.service.tick(); // the first check: nothing in use
    await acquire({ product: 'cad' });
    h.clock.advance(30_000);
    await h.app.ctx.service.tick();
    expect((await h.req('GET', '/v1/alerts', h.owner)).body.items).toEqual([]);
    h.clock.advance(30_000);
    await h.app.ctx.service.tick();
    expect((await h.req('GET', '/v1/alerts', h.owner)).body.items.map((a: { threshold: number }) => a.threshold)).toEqual([100, 90, 75]);
  });

  it('run each due check, and count each soft window, once when servers run the timed work at the same moment', async () => {
    await seatsProduct(1);
    await acquire({ product: 'cad' });
    await h.req('POST', '/v1/products', h.owner, { key: 'soft', heartbeat: { interval: 60, timeout: 3600 } });
    const soft = (await h.req('POST', '/v1/licenses', h.owner, { product: 'soft', seats: 1, enforcement: 'soft', exceptionQuota: 10 })).body;
    await acquire({ product: 'soft', device: 'a' });
    await acquire({ product: 'soft', device: 'b' });
    h.clock.advance(400_000);
    let n = 0;
    const ids = (prefix: string) => `${prefix}_${String(++n).padStart(8, '0')}`;
    const runs = await Promise.all(Array.from({ length: 4 }, () => h.ts.store.runMeteringWork(h.clock.now(), ids)));
    expect(runs.flatMap((r) => r.checks).flatMap((c) => c.fired).map((a) => a.threshold)).toEqual([75, 90, 100]);
    expect((await h.req('GET', '/v1/alerts', h.owner)).body.items).toHaveLength(3);
    // 400 s after creation (on a window boundary): two 180 s windows have closed, each counted once.
    const windows = (await h.req('GET', `/v1/licenses/${soft.id}/exceptions`, h.owner)).body.items;
    expect((await h.req('GET', `/v1/licenses/${soft.id}`, h.owner)).body.exceptions).toBe(windows.length);
    expect(windows.length).toBe(2);
    expect(new Set(windows.map((w: { from: string }) => w.from)).size).toBe(windows.length);
  });

  it('edit thresholds, turn rules off, and refuse bad rules', async () => {
    const rules = (await h.req('GET', '/v1/alert-rules', h.owner)).body.items;
    expect(rules.map((r: { id: string; thresholds: number[] }) => [r.id, r.thresholds])).toEqual([
      ['devices', [75, 90, 95, 100, 110]], ['usage', [75, 90, 95, 100, 105]], ['soft-exceptions', [50, 75, 90, 100]], ['seats', [75, 90, 100]],
    ]);
    expect((await h.req('PATCH', '/v1/alert-rules/seats', h.owner, { thresholds: [50, 25, 50] })).body).toMatchObject({ thresholds: [25, 50], enabled: true });
    await seatsProduct(4);
    await acquire({ product: 'cad' });
    expect((await check()).map((a) => a.threshold)).toEqual([25]);
    await h.req('PATCH', '/v1/alert-rules/seats', h.owner, { enabled: false });
    await acquire({ product: 'cad' });
    expect(await check()).toEqual([]);
    for (const body of [{ thresholds: [] }, { thresholds: [0] }, { thresholds: ['75'] }, { enabled: 'yes' }, { other: 1 }]) {
      expect(await h.req('PATCH', '/v1/alert-rules/seats', h.owner, body)).toMatchObject({ status: 400, body: { code: 'bad-request' } });
    }
    expect((await h.req('PATCH', '/v1/alert-rules/nope', h.owner, { enabled: true })).body.code).toBe('not-found');
    expect((await h.req('GET', '/v1/alert-rules', h.owner)).body.items.find((r: { id: string }) => r.id === 'seats')).toMatchObject({ thresholds: [25, 50], enabled: false });
    await h.req('POST', '/v1/users', h.owner, { username: 'mo', password: 'correct horse battery', role: 'member' });
    expect((await h.req('GET', '/v1/alerts', await h.login('mo'))).body.code).toBe('forbidden');
  });

  it('e-mail one message to every recipient listing every condition met', async () => {
    const bad = await h.req('PATCH', '/v1/settings', h.owner, { alertRecipients: 'ops@example.org, boss' });
    expect(bad).toMatchObject({ status: 400, body: { code: 'bad-request', field: 'alertRecipients' } });
    expect((await h.req('GET', '/v1/settings', h.owner)).body.alertRecipients).toBe('');
    await h.req('PATCH', '/v1/settings', h.owner, { alertRecipients: 'ops@example.org; licensing@example.com;it@example.net' });
    const lic = await seatsProduct(4);
    await h.req('POST', '/v1/products', h.owner, { key: 'scan', quota: { units: 100, overage: 5 } });
    await h.req('POST', '/v1/usage', h.owner, { product: 'scan', units: 92 });
    for (let i = 0; i < 3; i++) await acquire({ product: 'cad' });
    expect(await check()).toHaveLength(3); // seats 75; usage 75 and 90
    expect(await h.app.ctx.notifier.run()).toBe(1);
    expect(smtp.messages).toHaveLength(1);
    const m = smtp.messages[0]!;
    expect(m.from).toBe('alerts@seatkeeper.test');
    expect(m.to.sort()).toEqual(['it@example.net', 'licensing@example.com', 'ops@example.org']);
    expect(m.data).toMatch(/Subject: Seatkeeper \(acme\): 2 license alerts/);
    expect(m.data).toContain('license CAD floating of cad: seats in use at 75 %; thresholds met: 75 % (new).');
    expect(m.data).toContain('product scan: units used of the quota at 92 %; thresholds met: 75 % (new), 90 % (new).');
    const log = (await h.req('GET', '/v1/alerts/deliveries', h.owner)).body.items;
    expect(log).toEqual([expect.objectContaining({ type: 'alert', status: 'delivered', attempts: 1 })]);
    const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/seatkeeper_alerts_total\{kind="usage"\} 2/);
    expect(metrics).toMatch(/seatkeeper_alerts_total\{kind="seats"\} 1/);
    expect(metrics).toMatch(/seatkeeper_deliveries_total\{channel="email",outcome="delivered"\} 1/);

    // A later check lists the conditions still met along with the new one.
    await h.req('POST', '/v1/usage', h.owner, { product: 'scan', units: 3 });
    expect((await check()).map((a) => a.threshold)).toEqual([95]);
    await h.app.ctx.notifier.run();
    expect(smtp.messages).toHaveLength(2);
    expect(smtp.messages[1]!.data).toContain('license CAD floating of cad: seats in use at 75 %; thresholds met: 75 %.');
    expect(smtp.messages[1]!.data).toContain('thresholds met: 75 %, 90 %, 95 % (new).');
    expect(lic.id).toBeTruthy();
  });

  it('retry e-mail that cannot be sent, without holding up webhooks', async () => {
    await smtp.close();
    let secret = '';
    const hook = await receiver(() => secret, () => h.clock.now(), []);
    try {
      await h.req('PATCH', '/v1/settings', h.owner, { alertRecipients: 'ops@example.org' });
      secret = (await h.req('POST', '/v1/webhooks', h.owner, { url: hook.url, events: ['alert'] })).body.secret;
      await seatsProduct(1);
      await acquire({ product: 'cad' });
      await check();
      await h.app.ctx.service.tick(); // copies the alert event to the webhook's outbox
      await h.app.ctx.notifier.run();
      expect(hook.hits).toHaveLength(1);
      const mail = (await h.req('GET', '/v1/alerts/deliveries', h.owner)).body.items[0];
      expect(mail).toMatchObject({ status: 'pending', attempts: 1, lastError: expect.stringMatching(/ECONNREFUSED|connect/i) });
      expect(Date.parse(mail.nextAttemptAt) - h.clock.now()).toBe(10_000);
    } finally {
      await hook.close();
    }
  });

  it('sign webhook deliveries, retry after a 500, and keep a delivery log', async () => {
    let secret = '';
    const hook = await receiver(() => secret, () => h.clock.now(), [500, 200]);
    try {
      const created = await h.req('POST', '/v1/webhooks', h.owner, { url: hook.url, events: ['alert'] });
      expect(created.status).toBe(201);
      secret = created.body.secret;
      expect(secret).toMatch(/^whsec_/);
      expect((await h.req('GET', `/v1/webhooks/${created.body.id}`, h.owner)).body.secret).toBeUndefined();
      await seatsProduct(1);
      await acquire({ product: 'cad' });
      await check();
      await h.app.ctx.service.tick();
      await h.app.ctx.notifier.run();
      expect(hook.hits).toHaveLength(1);
      let log = (await h.req('GET', `/v1/webhooks/${created.body.id}/deliveries`, h.owner)).body.items;
      expect(log).toEqual([expect.objectContaining({ type: 'alert', status: 'pending', attempts: 1, lastStatus: 500 })]);
      // Not before its backoff.
      h.clock.advance(9_999);
      expect(await h.app.ctx.notifier.run()).toBe(0);
      h.clock.advance(1);
      expect(await h.app.ctx.notifier.run()).toBe(1);
      expect(hook.hits).toHaveLength(2);
      log = (await h.req('GET', `/v1/webhooks/${created.body.id}/deliveries`, h.owner)).body.items;
      expect(log).toEqual([expect.objectContaining({ status: 'delivered', attempts: 2, lastStatus: 200, deliveredAt: new Date(h.clock.now()).toISOString() })]);

      for (const hit of hook.hits) {
        expect(hit.valid).toBe(true);
        expect(hit.headers['content-type']).toBe('application/json');
        expect(hit.headers['seatkeeper-event']).toBe('alert');
        const body = JSON.parse(hit.body);
        expect(body).toMatchObject({ type: 'alert', account: h.accountId, data: { alerts: expect.any(Array), conditions: [expect.objectContaining({ kind: 'seats', value: 100 })] } });
        expect(body.data.alerts.map((a: { threshold: number }) => a.threshold)).toEqual([75, 90, 100]);
      }
      // A tampered body or another secret does not verify.
      const hit = hook.hits[0]!;
      expect(verifySignature(secret, String(hit.headers['seatkeeper-signature']), hit.body.replace('alert', 'alerts'), Math.floor(h.clock.now() / 1000))).toBe(false);
      expect(verifySignature('whsec_other_secret_value', String(hit.headers['seatkeeper-signature']), hit.body, Math.floor(h.clock.now() / 1000))).toBe(false);
    } finally {
      await hook.close();
    }
  });

  it('send lease events to webhooks that subscribe to them, only from after their creation', async () => {
    await seatsProduct(2);
    const before = await acquire({ product: 'cad' });
    await h.app.ctx.service.tick();
    let secret = '';
    const hook = await receiver(() => secret, () => h.clock.now(), []);
    try {
      const w = (await h.req('POST', '/v1/webhooks', h.owner, { url: hook.url, events: ['lease.ended'] })).body;
      secret = w.secret;
      h.clock.advance(1000);
      const s = (await acquire({ product: 'cad' })).body.session;
      await h.req('DELETE', `/v1/sessions/${s.id}`, s.token);
      await h.req('DELETE', `/v1/sessions/${before.body.session.id}`, before.body.session.token);
      h.clock.advance(3000);
      await h.app.ctx.service.tick();
      await h.app.ctx.notifier.run();
      expect(hook.hits.map((x) => JSON.parse(x.body).type)).toEqual(['lease.ended', 'lease.ended']);
      expect(hook.hits.every((x) => x.valid)).toBe(true);
      // Disabled: nothing more is queued.
      await h.req('PATCH', `/v1/webhooks/${w.id}`, h.owner, { enabled: false });
      const s2 = (await acquire({ product: 'cad' })).body.session;
      await h.req('DELETE', `/v1/sessions/${s2.id}`, s2.token);
      h.clock.advance(3000);
      await h.app.ctx.service.tick();
      await h.app.ctx.notifier.run();
      expect(hook.hits).toHaveLength(2);
    } finally {
      await hook.close();
    }
  });

  it('refuse bad webhooks and keep other accounts’ webhooks out of reach', async () => {
    for (const body of [{ url: 'ftp://x.example/' }, { url: 'not a url' }, { url: 'https://x.example/', events: [] }, { url: 'https://x.example/', secret: 'short' }, { url: 'https://x.example/', extra: 1 }]) {
      expect(await h.req('POST', '/v1/webhooks', h.owner, body)).toMatchObject({ status: 400, body: { code: 'bad-request' } });
    }
    const w = (await h.req('POST', '/v1/webhooks', h.owner, { url: 'https://hooks.example/a' })).body;
    expect(w.events).toEqual(['*']);
    const other = await h.newAccount('globex');
    expect((await h.req('GET', `/v1/webhooks/${w.id}`, other.token)).status).toBe(404);
    expect((await h.req('PATCH', `/v1/webhooks/${w.id}`, other.token, { enabled: false })).status).toBe(404);
    expect((await h.req('DELETE', `/v1/webhooks/${w.id}`, other.token)).status).toBe(404);
    expect((await h.req('GET', '/v1/webhooks', other.token)).body.items).toEqual([]);
    expect((await h.req('GET', `/v1/webhooks/${w.id}`, h.owner)).body).toMatchObject({ url: 'https://hooks.example/a', enabled: true });
  });

  it('stream alert events to the admin event stream, from the moment it opens', async () => {
    await seatsProduct(1);
    const first = (await acquire({ product: 'cad' })).body.session;
    const before = await check(); // fired before the stream opened: not replayed to it
    expect(before).toHaveLength(3);
    await h.req('DELETE', `/v1/sessions/${first.id}`, first.token);
    expect(await check()).toEqual([]);
    const address = await h.app.listen({ port: 0, host: '127.0.0.1' });
    const stream = openSse(`${address}/v1/events`, { authorization: `Bearer ${h.owner}` });
    await stream.ready;
    try {
      await acquire({ product: 'cad' });
      const fired = await check();
      while (!stream.events.some((x) => x.event === 'alert')) await stream.waitFor(stream.events.length + 1);
      const alerts = stream.events.filter((x) => x.event === 'alert');
      expect(alerts).toHaveLength(1);
      const data = JSON.parse(alerts[0]!.data);
      expect(data.alerts.map((a: { id: string }) => a.id)).toEqual((fired as unknown as { id: string }[]).map((a) => a.id));
      expect(data).toMatchObject({ conditions: [expect.objectContaining({ kind: 'seats', value: 100, met: [75, 90, 100] })] });
      // Nor was the first session's history replayed.
      expect(stream.events.filter((x) => x.event === 'lease.ended')).toEqual([]);
    } finally {
      stream.close();
    }
  });
});
