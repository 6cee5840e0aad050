import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throwaway self-signed certificate for 127.0.0.1, ::1 and localhost, made at test time. */
export interface TestCertificate {
  readonly dir: string;
  readonly keyFile: string;
  readonly certFile: string;
  /** The certificate in PEM: trust it as the client's `ca`. */
  readonly cert: Buffer;
  remove(): void;
}

/**
 * Node's crypto makes keys but not X.509 certificates, so this runs `openssl req -x509` (OpenSSL
 * 1.1.1 or later, for -addext). Nothing is committed: the key lives in a temporary directory for
 * the duration of the test file.
 */
export function makeSelfSignedCertificate(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'p2p-otel-tls-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '1',
        '-subj',
        '/CN=p2p-otel test',
        '-addext',
        'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`the TLS tests need the openssl command (1.1.1 or later) to make a test certificate: ${(e as Error).message}`);
  }
  return { dir, keyFile, certFile, cert: readFileSync(certFile), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
