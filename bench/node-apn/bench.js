// A bare @parse/node-apn client pushing to the mock APNs as fast as it can, for a bounded time, with a fixed number
// of notifications in flight: the peer that bench/e2e.sh compares the relay's end-to-end rate with. Every
// notification is an alert with mutable-content and a ciphertext of the relay's usual size, to one device token.
//
//   node bench.js --endpoint https://127.0.0.1:2199 --ca ca.pem --key apns-key.p8 --team-id T --key-id K --topic com.example.chat
//                 [--warmup 10] [--duration 20] [--concurrency 512] [--clients 2]
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const apn = require('@parse/node-apn');

function argument(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  if (at >= 0 && at + 1 < process.argv.length) return process.argv[at + 1];
  if (fallback === undefined) throw new Error(`--${name} is required`);
  return fallback;
}

const endpoint = new URL(argument('endpoint'));
if (!['127.0.0.1', 'localhost', '[::1]'].includes(endpoint.hostname)) {
  throw new Error('only a loopback mock may be targeted');
}
const warmup = Number(argument('warmup', '10'));
const duration = Number(argument('duration', '20'));
const concurrency = Number(argument('concurrency', '512'));
const clients = Number(argument('clients', '2'));
const topic = argument('topic');

const provider = new apn.MultiProvider({
  token: { key: fs.readFileSync(argument('key')), keyId: argument('key-id'), teamId: argument('team-id') },
  address: endpoint.hostname,
  port: Number(endpoint.port || 443),
  ca: fs.readFileSync(argument('ca')),
  production: false,
  clientCount: clients,
  requestTimeout: 15000,
});

const deviceToken = crypto.randomBytes(32).toString('hex');
const ciphertext = crypto.randomBytes(256).toString('base64');

function notification() {
  const note = new apn.Notification();
  note.topic = topic;
  note.pushType = 'alert';
  note.alert = 'New message';
  note.mutableContent = 1;
  note.expiry = Math.floor(Date.now() / 1000) + 30 * 24 * 3600;
  note.payload = { c: ciphertext, m: crypto.randomUUID() };
  return note;
}

// Each worker keeps one notification in flight until the phase ends; counts what APNs accepted and refused.
async function phase(seconds) {
  const until = Date.now() + seconds * 1000;
  const counts = { sent: 0, failed: 0 };
  const started = process.hrtime.bigint();
  async function worker() {
    while (Date.now() < until) {
      const result = await provider.send(notification(), deviceToken);
      counts.sent += result.sent.length;
      counts.failed += result.failed.length;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  counts.seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return counts;
}

(async () => {
  console.log(`node-apn ${require('@parse/node-apn/package.json').version} against ${endpoint.origin}: ${clients} clients, ${concurrency} in flight, ${warmup} s of warm-up, ${duration} s measured`);
  const warm = await phase(warmup);
  console.log(`warm-up: ${warm.sent} sent, ${warm.failed} failed in ${warm.seconds.toFixed(1)} s`);
  const run = await phase(duration);
  const rate = run.sent / run.seconds;
  console.log(`sent ${run.sent} notifications in ${run.seconds.toFixed(2)} s: ${rate.toFixed(0)}/s; ${run.failed} failed`);
  console.log(`RESULT mode=node-apn notifications_per_s=${rate.toFixed(0)} failed=${run.failed}`);
  await provider.shutdown();
  process.exit(run.failed === 0 && run.sent > 0 ? 0 : 1);
})().catch(error => {
  console.error(error);
  process.exit(1);
});
