// A throwaway certificate authority and a server certificate for 127.0.0.1, made with the openssl
// command line in a temporary directory, for TLS tests (mosquitto's `cafile`/`certfile`/`keyfile`).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TlsCerts {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The CA certificate in PEM, and as DER bytes (what Espruino's `ca` option takes, after atob). */
  caPem: string;
  caDer: Buffer;
  /** Deletes the directory. */
  dispose(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: 30000 });
}

/** CA (EC P-256, one day) and a server certificate it signed for CN/SAN 127.0.0.1 and localhost. */
export function makeTlsCerts(): TlsCerts {
  const dir = mkdtempSync(join(tmpdir(), 'tls-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=Test CA'], dir);
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'], dir);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'server.crt', '-days', '1', '-extfile', 'san.ext'], dir);
  const caPem = readFileSync(join(dir, 'ca.crt'), 'utf8');
  const body = caPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    certFile: join(dir, 'server.crt'),
    keyFile: join(dir, 'server.key'),
    caPem,
    caDer: Buffer.from(body, 'base64'),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
