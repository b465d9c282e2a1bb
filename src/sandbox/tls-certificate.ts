import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';

/**
 * A self-signed certificate for 127.0.0.1 / localhost, made in-process (no openssl needed).
 * The sandbox API serves TLS because kubectl (client-go) never sends a bearer token over plain
 * http (kubernetes/kubectl#744).
 */
export interface SelfSignedCertificate {
  cert: string;
  key: string;
}

let cached: SelfSignedCertificate | undefined;

/** One certificate per process: key generation is cheap, but there is no reason to repeat it. */
export function sandboxCertificate(): SelfSignedCertificate {
  cached ??= selfSignedCertificate('cutover-sandbox');
  return cached;
}

export function selfSignedCertificate(commonName: string, now = new Date(), serialBytes: Buffer = randomBytes(16)): SelfSignedCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ecdsaWithSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const name = seq(set(seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(commonName)))));
  const notBefore = new Date(now.getTime() - 60 * 60 * 1000);
  const notAfter = new Date(now.getTime() + 10 * 365 * 24 * 60 * 60 * 1000);
  const serial = Buffer.from(serialBytes);
  // DER INTEGER: positive (top bit clear) and minimal (a leading 0x00 byte followed by a byte
  // below 0x80 is "illegal padding" to OpenSSL). Setting 0x40 and clearing 0x80 keeps both.
  serial[0] = (serial[0]! & 0x7f) | 0x40;
  const subjectAltName = seq(tlv(0x82, Buffer.from('localhost')), tlv(0x87, Buffer.from([127, 0, 0, 1])), tlv(0x87, Buffer.concat([Buffer.alloc(15), Buffer.from([1])])));
  const extensions = tlv(
    0xa3,
    seq(
      seq(oid('2.5.29.19'), tlv(0x01, Buffer.from([0xff])), tlv(0x04, seq(tlv(0x01, Buffer.from([0xff]))))),
      seq(oid('2.5.29.15'), tlv(0x01, Buffer.from([0xff])), tlv(0x04, tlv(0x03, Buffer.from([0x02, 0xa4])))),
      seq(oid('2.5.29.37'), tlv(0x04, seq(oid('1.3.6.1.5.5.7.3.1')))),
      seq(oid('2.5.29.17'), tlv(0x04, subjectAltName)),
    ),
  );
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))),
    tlv(0x02, serial),
    ecdsaWithSha256,
    name,
    seq(time(notBefore), time(notAfter)),
    name,
    spki,
    extensions,
  );
  const signature = sign('sha256', tbs, privateKey);
  const certificate = seq(tbs, ecdsaWithSha256, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  return {
    cert: pem('CERTIFICATE', certificate),
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

function tlv(tag: number, body: Buffer): Buffer {
  const length = body.length;
  let header: Buffer;
  if (length < 0x80) header = Buffer.from([tag, length]);
  else if (length < 0x100) header = Buffer.from([tag, 0x81, length]);
  else header = Buffer.from([tag, 0x82, length >> 8, length & 0xff]);
  return Buffer.concat([header, body]);
}

const seq = (...parts: Buffer[]): Buffer => tlv(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]): Buffer => tlv(0x31, Buffer.concat(parts));

function oid(dotted: string): Buffer {
  const [first, second, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const bytes = [first * 40 + second];
  for (const value of rest) {
    const chunk = [value & 0x7f];
    for (let v = value >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function time(date: Date): Buffer {
  const iso = date.toISOString();
  const compact = iso.slice(0, 19).replace(/[-:T]/g, '') + 'Z';
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(compact.slice(2))) : tlv(0x18, Buffer.from(compact));
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
