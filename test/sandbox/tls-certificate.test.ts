import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { selfSignedCertificate } from '../../src/sandbox/tls-certificate.js';

describe('the sandbox API server certificate', () => {
  it('is valid DER whatever random serial it draws (a leading zero byte once broke start-up)', () => {
    for (const first of [0x00, 0x01, 0x7f, 0x80, 0xff]) {
      const serial = Buffer.alloc(16, 0x00);
      serial[0] = first;
      const { cert } = selfSignedCertificate('cutover-sandbox', new Date('2026-11-28T00:00:00Z'), serial);
      const parsed = new X509Certificate(cert);
      expect(parsed.subjectAltName).toContain('IP Address:127.0.0.1');
      expect(parsed.serialNumber).toMatch(/^[0-9A-F]+$/);
    }
  });
});
