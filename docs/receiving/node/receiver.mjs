// A Tidings webhook receiver in Node.js, with the stock `standardwebhooks` package for v1
// (HMAC) signatures and node:crypto for v1a (Ed25519). See docs/receiving.md.
//
//   npm install standardwebhooks
//   WEBHOOK_SECRET=whsec_... PORT=9000 node receiver.mjs     # or WEBHOOK_SECRET=whpk_... (v1a)
//
// It verifies each delivery on its raw body, answers at once (204), and processes later;
// a webhook-id seen before on the same path is answered 200 and not processed again (the id is
// the event's, the same on every endpoint that gets it). One JSON line per event
// on stdout: listening, processed, duplicate, rejected.
import { createPublicKey, verify } from 'node:crypto';
import { createServer } from 'node:http';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';

const SECRET = process.env.WEBHOOK_SECRET ?? '';
const TOLERANCE_S = 5 * 60;
const log = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);

/** Throws unless one v1a signature verifies with the whpk_ public key, on a fresh timestamp. */
function verifyEd25519(publicKey, headers, raw) {
  const id = headers['webhook-id'];
  const ts = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (!id || !ts || !signatures) throw new Error('missing webhook headers');
  if (!/^\d+$/.test(ts) || Math.abs(Date.now() / 1000 - Number(ts)) > TOLERANCE_S) {
    throw new Error('timestamp outside the tolerance');
  }
  const key = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey.slice('whpk_'.length), 'base64').toString('base64url') },
    format: 'jwk',
  });
  const content = Buffer.concat([Buffer.from(`${id}.${ts}.`), raw]);
  const ok = signatures
    .split(' ')
    .filter((s) => s.startsWith('v1a,'))
    .some((s) => verify(null, content, key, Buffer.from(s.slice(4), 'base64')));
  if (!ok) throw new Error('no v1a signature matches');
}

function check(headers, raw) {
  if (SECRET.startsWith('whpk_')) verifyEd25519(SECRET, headers, raw);
  else new Webhook(SECRET).verify(raw, headers); // v1; checks the timestamp too (5 minutes)
}

// In production: a table with a unique key on (endpoint, webhook-id), and a real job queue.
const seen = new Set();
const queue = [];

function processLater() {
  setImmediate(() => {
    const job = queue.shift();
    if (!job) return;
    log({ event: 'processed', id: job.id, sequence: job.sequence, body: JSON.parse(job.raw.toString('utf8')) });
    processLater();
  });
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const raw = Buffer.concat(chunks); // the bytes as sent: never re-serialise before verifying
    try {
      check(req.headers, raw);
    } catch (err) {
      const reason = err instanceof WebhookVerificationError ? err.message : String(err.message ?? err);
      log({ event: 'rejected', reason });
      res.writeHead(400).end();
      return;
    }
    const id = req.headers['webhook-id'];
    const key = `${req.url} ${id}`;
    if (seen.has(key)) {
      log({ event: 'duplicate', id });
      res.writeHead(200).end();
      return;
    }
    seen.add(key);
    const sequence = req.headers['webhook-sequence'];
    queue.push({ id, sequence: sequence === undefined ? null : Number(sequence), raw });
    res.writeHead(204).end(); // answer first: Tidings waits at most its timeout (15 s)
    processLater();
  });
});

server.listen(Number(process.env.PORT ?? 9000), '127.0.0.1', () => {
  log({ event: 'listening', port: server.address().port });
});
