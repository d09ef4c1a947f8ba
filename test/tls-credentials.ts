/**
 * A self-signed certificate for the TLS tests, made with the openssl CLI at
 * run time (no key material kept in the repository).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A key and its certificate, PEM. */
export interface TlsCredentials {
  readonly key: Buffer;
  readonly cert: Buffer;
}

/**
 * A self-signed certificate for `localhost` (CN and subjectAltName), valid
 * one day, with its key; undefined when the openssl CLI is missing or fails
 * (the TLS tests are then skipped).
 */
export function selfSignedCertificate(): TlsCredentials | undefined {
  try {
    const dir = mkdtempSync(join(tmpdir(), 'zcached-tls-'));
    try {
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost',
          '-addext', 'subjectAltName=DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
        { stdio: 'ignore' },
      );
      return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } catch {
    return undefined;
  }
}
