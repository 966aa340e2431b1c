/**
 * The example display client (seed 000's display URL): a page that holds one seat of its
 * endpoint's product through the client SDK and shows what the SDK sees. The page script is
 * a plain ES module that imports the SDK's own build from /display/sdk/.
 */

export const DISPLAY_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Seatkeeper display</title>
<style>
  :root { color-scheme: dark; font-family: system-ui, sans-serif; }
  body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: #10151c; color: #e8eef5; }
  main { width: min(44rem, 92vw); }
  h1 { font-size: 1.1rem; font-weight: 500; color: #8aa0b6; margin: 0 0 1rem; }
  #state { font-size: 2.6rem; font-weight: 700; margin: 0; }
  #detail { font-size: 1.2rem; color: #b8c6d4; min-height: 1.6em; margin: .5rem 0 1rem; }
  #countdown { font-size: 4rem; font-variant-numeric: tabular-nums; margin: 0; }
  #error { background: #5a1d1d; border-left: 4px solid #ff6b6b; padding: .75rem 1rem; margin: 1rem 0; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; color: #b8c6d4; }
  dt { color: #6f8397; }
  ol { color: #8aa0b6; font-size: .9rem; max-height: 12rem; overflow: auto; padding-left: 1.2rem; }
  button { font: inherit; padding: .4rem 1rem; border-radius: .3rem; border: 1px solid #3a4a5c; background: #1c2733; color: inherit; cursor: pointer; }
  [data-state="held"] #state { color: #5fd68a; }
  [data-state="queued"] #state, [data-state="retrying"] #state, [data-state="terminating"] #state { color: #ffc857; }
  [data-state="failed"] #state, [data-state="ended"] #state { color: #ff6b6b; }
</style>
</head>
<body data-state="connecting">
<main>
  <h1>Seatkeeper display</h1>
  <p id="state">Connecting…</p>
  <p id="detail"></p>
  <p id="countdown" hidden></p>
  <div id="error" role="alert" hidden></div>
  <dl>
    <dt>Product</dt><dd id="product">–</dd>
    <dt>Lease</dt><dd id="lease">–</dd>
    <dt>Last heartbeat</dt><dd id="heartbeat">–</dd>
  </dl>
  <p><button id="toggle" type="button">Release seat</button></p>
  <ol id="log" reversed></ol>
</main>
<script type="module" src="/display/page.js"></script>
</body>
</html>
`;

export const DISPLAY_JS = `import { acquire } from './sdk/index.js';

const key = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() || '');
const $ = (id) => document.getElementById(id);
const time = (d) => new Date(d).toLocaleTimeString();

function show(state, text, detail = '') {
  document.body.dataset.state = state;
  $('state').textContent = text;
  $('detail').textContent = detail;
}
function log(text) {
  const li = document.createElement('li');
  li.textContent = time(Date.now()) + '  ' + text;
  $('log').prepend(li);
  while ($('log').children.length > 30) $('log').lastChild.remove();
}
function problem(error) {
  return (error.message || error.code) + ' (' + error.code + (error.status ? ', HTTP ' + error.status : '') + ')';
}

let seat;
let ticker;
function countdown() {
  clearInterval(ticker);
  const tick = () => {
    const left = seat.secondsLeft;
    $('countdown').hidden = seat.terminatingAt === null;
    $('countdown').textContent = left + ' s';
    if (seat.terminatingAt === null) clearInterval(ticker);
  };
  tick();
  ticker = setInterval(tick, 250);
}

function start() {
  // The endpoint key names the product; the seat is given back when the page goes away.
  seat = acquire({ url: location.origin, token: key, errorAfter: 3, releaseOnPageHide: true });
  $('toggle').textContent = 'Release seat';
  show('connecting', 'Connecting…');

  seat.on('granted', ({ lease, reacquired }) => {
    $('error').hidden = true;
    $('product').textContent = lease.product;
    $('lease').textContent = lease.id + ' (' + lease.kind + ')';
    show('held', 'Seat held', 'since ' + time(lease.startedAt));
    log(reacquired ? 'seat held again' : 'seat held');
  });
  seat.on('queued', ({ ticket }) => {
    show('queued', 'Waiting for a seat', 'position ' + ticket.position + ' in the queue');
    log('queued at position ' + ticket.position);
  });
  seat.on('heartbeat', ({ expiresAt }) => {
    $('heartbeat').textContent = time(Date.now()) + ' (session good until ' + time(expiresAt) + ')';
  });
  seat.on('terminating', ({ message, at }) => {
    show('terminating', 'Ending soon', message || 'An administrator ended this seat.');
    log('terminating at ' + time(at) + (message ? ': ' + message : ''));
    countdown();
  });
  seat.on('paused', () => { show('retrying', 'Paused', 'The seat is paused by its user.'); log('paused'); });
  seat.on('resumed', () => { show('held', 'Seat held', 'resumed'); log('resumed'); });
  seat.on('upgraded', () => log('upgraded to a regular seat'));
  seat.on('ended', ({ reason, reacquiring }) => {
    $('countdown').hidden = true;
    show(reacquiring ? 'connecting' : 'ended', 'Seat ended', 'reason: ' + reason + (reacquiring ? '; registering again…' : ''));
    log('ended: ' + reason);
  });
  seat.on('retrying', ({ attempt, delay, error, during }) => {
    if (during === 'heartbeat') show('held', 'Seat held', 'connection lost; retrying in ' + Math.ceil(delay / 1000) + ' s');
    else show('retrying', error.code === 'no-seat' ? 'No seat free' : 'Cannot register', 'attempt ' + attempt + ' failed; retrying in ' + Math.ceil(delay / 1000) + ' s');
    log('attempt ' + attempt + ' failed: ' + error.code);
  });
  seat.on('error', ({ error, attempts, fatal }) => {
    $('error').hidden = false;
    $('error').textContent = fatal
      ? 'This display cannot register: ' + problem(error) + '. Check the display URL.'
      : 'Still no seat after ' + attempts + ' attempts: ' + problem(error) + '. Still trying…';
    if (fatal) show('failed', 'Stopped', '');
  });
  seat.on('released', () => { show('ended', 'Seat released', ''); log('released'); });
}

$('toggle').addEventListener('click', () => {
  if (seat && seat.state !== 'released') {
    void seat.release();
    $('toggle').textContent = 'Hold a seat';
  } else start();
});

start();
`;
