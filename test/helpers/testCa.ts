// A test certificate authority made with openssl, and certificates it signs: server
// certificates for 127.0.0.1 and client certificates for mutual TLS.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface KeyPair {
  cert: string;
  key: string;
}

export interface TestCa extends KeyPair {
  /** A certificate signed by this CA: `server` gets 127.0.0.1 and localhost as names, else a client certificate. */
  issue(commonName: string, opts?: { server?: boolean; days?: number }): KeyPair;
}

/** A new P-256 key, unencrypted: quick to make. */
const NEW_EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeCa(name: string): TestCa {
  const dir = mkdtempSync(path.join(tmpdir(), 'tidings-ca-'));
  try {
    openssl(dir, [
      'req',
      '-x509',
      ...NEW_EC_KEY,
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '30',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    const ca = {
      cert: readFileSync(path.join(dir, 'ca.pem'), 'utf8'),
      key: readFileSync(path.join(dir, 'ca.key'), 'utf8'),
    };
    let serial = 1;
    return {
      ...ca,
      issue(commonName, opts = {}) {
        const d = mkdtempSync(path.join(tmpdir(), 'tidings-cert-'));
        try {
          writeFileSync(path.join(d, 'ca.pem'), ca.cert);
          writeFileSync(path.join(d, 'ca.key'), ca.key);
          writeFileSync(
            path.join(d, 'ext.cnf'),
            opts.server
              ? 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n'
              : 'extendedKeyUsage=clientAuth\n',
          );
          openssl(d, [
            'req',
            ...NEW_EC_KEY,
            '-keyout',
            'leaf.key',
            '-out',
            'leaf.csr',
            '-subj',
            `/CN=${commonName}`,
          ]);
          openssl(d, [
            'x509',
            '-req',
            '-in',
            'leaf.csr',
            '-CA',
            'ca.pem',
            '-CAkey',
            'ca.key',
            '-set_serial',
            String(serial++),
            '-days',
            String(opts.days ?? 30),
            '-extfile',
            'ext.cnf',
            '-out',
            'leaf.pem',
          ]);
          return {
            cert: readFileSync(path.join(d, 'leaf.pem'), 'utf8'),
            key: readFileSync(path.join(d, 'leaf.key'), 'utf8'),
          };
        } finally {
          rmSync(d, { recursive: true, force: true });
        }
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
