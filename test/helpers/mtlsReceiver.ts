// A real HTTPS receiver on 127.0.0.1 that requires a client certificate signed by a CA it
// trusts (mutual TLS). It records each request with the client certificate's common name, and
// counts handshakes it refused. Which client CAs it trusts can be changed while it runs.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { KeyPair } from './testCa.js';

export interface MtlsRequest {
  commonName: string | undefined;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface MtlsReceiver {
  url: string;
  requests: MtlsRequest[];
  /** Handshakes refused (no certificate, or one from a CA it does not trust). */
  refused: number;
  /** Trust these client CAs from the next handshake on. */
  trust(cas: string[]): void;
  close(): Promise<void>;
}

export async function startMtlsReceiver(server: KeyPair, trustedCas: string[]): Promise<MtlsReceiver> {
  const requests: MtlsRequest[] = [];
  const state = { refused: 0 };
  const context = (cas: string[]) => ({ key: server.key, cert: server.cert, ca: cas });
  const srv = https.createServer(
    { ...context(trustedCas), requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        requests.push({
          commonName: typeof peer.subject?.CN === 'string' ? peer.subject.CN : undefined,
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
      });
    },
  );
  srv.on('tlsClientError', () => {
    state.refused += 1;
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    requests,
    get refused() {
      return state.refused;
    },
    trust(cas) {
      srv.setSecureContext(context(cas));
      // Kept-alive connections were accepted under the old trust: make clients handshake again.
      srv.closeAllConnections();
    },
    async close() {
      srv.closeAllConnections();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    },
  };
}
