// TLS material for the metrics server: either a certificate the cluster gives us
// (`--metrics-cert-dir` with tls.crt / tls.key, e.g. a cert-manager Secret, re-read when it is
// rotated) or a self-signed certificate made at start-up, as controller-runtime does.
//
// Why a hand-written X.509 builder: node:crypto makes keys and signatures but has no API to
// *create* a certificate, the image has no openssl, and we add no dependency for ~100 lines of
// DER. The certificate is minimal and standard: v3, ECDSA P-256 / SHA-256, CN + subjectAltName
// (DNS names and IPs), basicConstraints CA:false, keyUsage digitalSignature, extKeyUsage
// serverAuth, valid from one hour ago (clock skew) for one year (client-go's choice).
import {
  createPrivateKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  X509Certificate,
} from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export interface TlsMaterial {
  /** PEM certificate (chain). */
  cert: string;
  /** PEM private key. */
  key: string;
}

// ---- DER ---------------------------------------------------------------------------------

function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  let len: Buffer;
  if (n < 0x80) {
    len = Buffer.from([n]);
  } else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
    len = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), len, body]);
}

const sequence = (...c: Buffer[]): Buffer => der(0x30, ...c);
const set = (...c: Buffer[]): Buffer => der(0x31, ...c);
const octetString = (b: Buffer): Buffer => der(0x04, b);
const bitString = (b: Buffer): Buffer => der(0x03, Buffer.from([0]), b);
const utf8String = (s: string): Buffer => der(0x0c, Buffer.from(s, 'utf8'));
const derTrue = Buffer.from([0x01, 0x01, 0xff]);

/** A non-negative INTEGER from big-endian bytes (a 0x00 is prepended when the top bit is set). */
function integer(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const b = bytes.subarray(i);
  return der(0x02, (b[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
}

function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const [a = 0, b = 0, ...rest] = arcs;
  const out = [40 * a + b];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128))
      chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return der(0x06, Buffer.from(out));
}

/** UTCTime until 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5). */
function time(d: Date): Buffer {
  const iso = d.toISOString(); // 2025-01-02T03:04:05.678Z
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '') + 'Z'; // 20250102030405Z
  return d.getUTCFullYear() < 2050
    ? der(0x17, Buffer.from(digits.slice(2), 'ascii'))
    : der(0x18, Buffer.from(digits, 'ascii'));
}

function ipBytes(ip: string): Buffer {
  if (net.isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (!net.isIPv6(ip) || ip.includes('.'))
    throw new Error(`not an IPv4 or plain IPv6 address: ${ip}`);
  const [head = '', tail] = ip.split('::');
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

const OID = {
  commonName: '2.5.4.3',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  serverAuth: '1.3.6.1.5.5.7.3.1',
};

const extension = (id: string, critical: boolean, value: Buffer): Buffer =>
  sequence(oid(id), ...(critical ? [derTrue] : []), octetString(value));

// ---- self-signed certificate ---------------------------------------------------------------

export interface SelfSignedOptions {
  commonName: string;
  dnsNames: readonly string[];
  ipAddresses: readonly string[];
  /** Defaults to now. */
  now?: Date;
  validDays?: number;
}

export function selfSignedCertificate(opts: SelfSignedOptions): TlsMaterial {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const now = opts.now ?? new Date();
  const notBefore = new Date(now.getTime() - 3600_000);
  const notAfter = new Date(now.getTime() + (opts.validDays ?? 365) * 86400_000);
  const name = sequence(set(sequence(oid(OID.commonName), utf8String(opts.commonName))));
  const algorithm = sequence(oid(OID.ecdsaWithSHA256));
  const serial = randomBytes(16);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40; // positive, full 16 bytes

  const altNames = [
    ...opts.dnsNames.map((d) => der(0x82, Buffer.from(d, 'ascii'))), // [2] dNSName
    ...opts.ipAddresses.map((ip) => der(0x87, ipBytes(ip))), // [7] iPAddress
  ];
  const extensions = [
    extension(OID.basicConstraints, true, sequence()),
    extension(OID.keyUsage, true, der(0x03, Buffer.from([0x07, 0x80]))), // digitalSignature
    extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth))),
    extension(OID.subjectAltName, false, sequence(...altNames)),
  ];
  const tbs = sequence(
    der(0xa0, integer(Buffer.from([2]))), // [0] version v3
    integer(serial),
    algorithm,
    name, // issuer
    sequence(time(notBefore), time(notAfter)),
    name, // subject
    publicKey.export({ type: 'spki', format: 'der' }), // SubjectPublicKeyInfo (id-ecPublicKey, P-256)
    der(0xa3, sequence(...extensions)), // [3] extensions
  );
  const signature = sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' });
  const cert = sequence(tbs, algorithm, bitString(signature));
  const pem = `-----BEGIN CERTIFICATE-----\n${(cert.toString('base64').match(/.{1,64}/g) ?? []).join('\n')}\n-----END CERTIFICATE-----\n`;
  return { cert: pem, key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

// ---- certificate directory -----------------------------------------------------------------

export const CERT_FILE = 'tls.crt';
export const KEY_FILE = 'tls.key';

/** Read tls.crt / tls.key from `dir`; throws unless they parse and belong together. */
export function loadCertificateDir(dir: string): TlsMaterial {
  const certPath = path.join(dir, CERT_FILE);
  const keyPath = path.join(dir, KEY_FILE);
  const cert = fs.readFileSync(certPath, 'utf8');
  const key = fs.readFileSync(keyPath, 'utf8');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (e) {
    throw new Error(`${certPath}: not a PEM certificate: ${(e as Error).message}`, { cause: e });
  }
  // The error from createPrivateKey never contains key material, only what failed to parse.
  if (!x509.checkPrivateKey(createPrivateKey(key))) {
    throw new Error(`${keyPath} is not the private key of the certificate in ${certPath}`);
  }
  return { cert, key };
}

/**
 * Poll tls.crt / tls.key (as controller-runtime's certwatcher does, every 10 s) and call
 * `onChange` with the new pair once both files form a valid one again; a half-rotated pair is
 * reported to `onError` and the previous certificate stays in use. Returns the stop function.
 */
export function watchCertificateDir(
  dir: string,
  onChange: (material: TlsMaterial) => void,
  onError: (err: Error) => void,
  intervalMs = 10_000,
): () => void {
  const files = [CERT_FILE, KEY_FILE].map((f) => path.join(dir, f));
  const reload = (): void => {
    let material: TlsMaterial;
    try {
      material = loadCertificateDir(dir);
    } catch (e) {
      onError(e as Error);
      return;
    }
    onChange(material);
  };
  for (const f of files) fs.watchFile(f, { interval: intervalMs, persistent: false }, reload);
  return () => {
    for (const f of files) fs.unwatchFile(f, reload);
  };
}
