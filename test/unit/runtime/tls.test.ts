// Unit tests of the metrics server's TLS material: the hand-built self-signed certificate parses
// with node's X509Certificate and serves real TLS, and a certificate directory is validated and
// re-read on rotation.
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import tls from 'node:tls';
import { eventually } from '../../harness/eventually.ts';
import {
  loadCertificateDir,
  selfSignedCertificate,
  watchCertificateDir,
  type TlsMaterial,
} from '../../../src/runtime/tls.ts';

const make = (cn = 'frappe-operator-metrics', now?: Date): TlsMaterial =>
  selfSignedCertificate({
    ...(now === undefined ? {} : { now }),
    commonName: cn,
    dnsNames: ['localhost', 'metrics.frappe-operator-system.svc'],
    ipAddresses: ['127.0.0.1', '::1', 'fd00:10:96::1'],
  });

describe('selfSignedCertificate', () => {
  it('makes a certificate node parses, with the names, validity and key asked for', () => {
    // Second precision, as X.509 stores it; given, so a slow key generation cannot shift it.
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const { cert, key } = make('frappe-operator-metrics', now);
    const x = new X509Certificate(cert);
    assert.equal(x.subject, 'CN=frappe-operator-metrics');
    assert.equal(x.issuer, x.subject);
    assert.equal(
      x.subjectAltName,
      'DNS:localhost, DNS:metrics.frappe-operator-system.svc, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:FD00:10:96:0:0:0:0:1',
    );
    assert.equal(x.ca, false);
    assert.deepEqual(x.keyUsage, ['1.3.6.1.5.5.7.3.1']);
    assert.equal(x.publicKey.asymmetricKeyType, 'ec');
    assert.equal(x.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(x.verify(x.publicKey), 'self-signature verifies');
    assert.ok(x.validFromDate.getTime() <= now.getTime());
    const days = (x.validToDate.getTime() - now.getTime()) / 86400_000;
    assert.ok(days > 364 && days <= 365, `valid for one year, got ${days} days`);
    assert.ok(x.checkPrivateKey(createPrivateKey(key)));
    assert.ok(x.checkHost('localhost'));
    assert.ok(x.checkIP('127.0.0.1'));
    assert.match(x.serialNumber, /^[0-9A-F]{32}$/);
  });

  it('uses GeneralizedTime from 2050 on', () => {
    const x = new X509Certificate(
      selfSignedCertificate({
        commonName: 'x',
        dnsNames: [],
        ipAddresses: [],
        now: new Date('2049-12-01T00:00:00Z'),
      }).cert,
    );
    assert.equal(x.validToDate.getUTCFullYear(), 2050);
  });

  it('serves a TLS request (node accepts it as a server certificate)', async () => {
    const material = make();
    const server = https.createServer(material, (_req, res) => res.end('hello'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const body = await new Promise<string>((resolve, reject) => {
        https
          .get({ host: '127.0.0.1', port, path: '/', rejectUnauthorized: false }, (res) => {
            let s = '';
            res.on('data', (c: Buffer) => (s += c.toString()));
            res.on('end', () => {
              resolve(s);
            });
          })
          .on('error', reject);
      });
      assert.equal(body, 'hello');
      // And with verification, trusting the certificate itself, for the name it carries.
      const socket = tls.connect({
        host: '127.0.0.1',
        port,
        ca: material.cert,
        servername: 'localhost',
      });
      await new Promise<void>((resolve, reject) =>
        socket.on('secureConnect', resolve).on('error', reject),
      );
      assert.equal(socket.authorized, true);
      socket.destroy();
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('certificate directory', () => {
  const writeDir = (
    m: TlsMaterial,
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certs-')),
  ): string => {
    fs.writeFileSync(path.join(dir, 'tls.crt'), m.cert);
    fs.writeFileSync(path.join(dir, 'tls.key'), m.key);
    return dir;
  };

  it('loads a matching pair', () => {
    const m = make();
    const dir = writeDir(m);
    assert.deepEqual(loadCertificateDir(dir), m);
    fs.rmSync(dir, { recursive: true });
  });

  it('rejects a key that does not belong to the certificate, and a missing file', () => {
    const dir = writeDir(make());
    fs.writeFileSync(path.join(dir, 'tls.key'), make().key);
    assert.throws(() => loadCertificateDir(dir), /is not the private key of the certificate/);
    fs.writeFileSync(path.join(dir, 'tls.crt'), 'garbage');
    assert.throws(() => loadCertificateDir(dir), /not a PEM certificate/);
    fs.rmSync(path.join(dir, 'tls.crt'));
    assert.throws(() => loadCertificateDir(dir), /ENOENT/);
    fs.rmSync(dir, { recursive: true });
  });

  it('reports a rotated pair once both files match again', async () => {
    const dir = writeDir(make());
    const seen: string[] = [];
    const errors: string[] = [];
    const stop = watchCertificateDir(
      dir,
      (m) => seen.push(m.cert),
      (e) => errors.push(e.message),
      50,
    );
    try {
      const next = make('rotated');
      // The new certificate lands first: a mismatched pair, reported as an error.
      fs.writeFileSync(path.join(dir, 'tls.crt'), next.cert);
      await eventually(
        () => {
          assert.ok(errors.length > 0);
        },
        { interval: 20 },
      );
      fs.writeFileSync(path.join(dir, 'tls.key'), next.key);
      await eventually(
        () => {
          assert.ok(seen.includes(next.cert));
        },
        { interval: 20 },
      );
    } finally {
      stop();
      fs.rmSync(dir, { recursive: true });
    }
  });
});
