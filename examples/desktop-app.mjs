#!/usr/bin/env node
/* global process, console */
// A desktop application holding a seat of a `user-device` product with @seatkeeper/client.
//
// Set-up, once (an administrator):
//   seatkeeper products create cad --seat-model user-device --client-type desktop:5:15 --linger 15
//   seatkeeper licenses create --product cad --seats 10
// Run (from this repository, after `npm run build`; elsewhere `npm install @seatkeeper/client`):
//   SEATKEEPER_URL=http://127.0.0.1:7070 SEATKEEPER_TOKEN=<user token or service key> node examples/desktop-app.mjs
//
// clientType "desktop" makes the server use that client type's heartbeat policy (every 5 s,
// removed after 15 s of silence). The product's linger (15 s) keeps the seat for a moment
// after the app closes, so a quick restart of the app gets the same lease back instead of
// competing for a new seat. Start it twice on one machine: both instances share one seat
// (same user, same device). Ctrl-C gives the seat back (releaseOnExit).
import { hostname } from 'node:os';
import { acquire } from '@seatkeeper/client';

const url = process.env.SEATKEEPER_URL ?? 'http://127.0.0.1:7070';
const token = process.env.SEATKEEPER_TOKEN;
if (!token) {
  console.error('Set SEATKEEPER_TOKEN to a user token (seatkeeper login) or a service key.');
  process.exit(2);
}

const seat = acquire({
  url,
  token,
  product: process.env.SEATKEEPER_PRODUCT ?? 'cad',
  device: hostname(), // one seat per user per device (seat model user-device)
  clientType: 'desktop',
  meta: { app: 'example-cad', version: '1.0.0' },
  errorAfter: 3,
  releaseOnExit: true, // SIGINT, SIGTERM, beforeExit → DELETE the session, then exit
});

let editing = false;
const setEditing = (on, why) => {
  if (on !== editing) console.log(on ? `✔ editing enabled (${why})` : `✖ read-only (${why})`);
  editing = on;
};

seat.on('granted', ({ lease, session, reacquired }) => {
  console.log(`${reacquired ? 'Seat held again' : 'Seat held'}: lease ${lease.id}, shared by ${lease.sessions} session(s); heartbeat every ${session.heartbeatInterval} s`);
  setEditing(true, 'seat held');
});
seat.on('queued', ({ ticket }) => console.log(`All seats are taken; waiting in the queue at position ${ticket.position}`));
seat.on('terminating', ({ message, secondsLeft }) => {
  console.log(`⚠ An administrator is ending this seat in ${secondsLeft} s: ${message ?? 'no message'}. Save your work.`);
});
seat.on('paused', () => setEditing(false, 'seat paused'));
seat.on('resumed', () => setEditing(true, 'seat resumed'));
seat.on('ended', ({ reason, reacquiring }) => {
  setEditing(false, `seat ended: ${reason}`);
  if (reacquiring) console.log('Trying to get a seat again…');
});
seat.on('retrying', ({ attempt, delay, error, during }) => {
  if (during === 'register') setEditing(false, `no seat yet: ${error.code}`);
  console.log(`  attempt ${attempt} failed (${error.code}); next try in ${(delay / 1000).toFixed(1)} s`);
});
seat.on('error', ({ error, attempts, fatal }) => {
  if (fatal) {
    console.error(`Cannot use Seatkeeper: ${error.message} (${error.code}). Check the URL and token.`);
    process.exit(1);
  }
  if (error.code === 'no-seat' || error.code === 'user-limit') {
    console.error(`Still no seat after ${attempts} attempts: ${error.message}`);
    for (const l of error.ownLeases) console.error(`  you hold ${l.id} on ${l.device ?? 'another device'}`);
    if (error.problem.manageUrl) console.error(`  end one at ${error.problem.manageUrl}`);
  } else {
    console.error(`Still failing after ${attempts} attempts: ${error.message} (${error.code}); retrying`);
  }
});
seat.on('released', () => console.log('Seat given back. Bye.'));

console.log(`Example CAD app on ${hostname()}, licensed by ${url}. Ctrl-C to quit.`);
