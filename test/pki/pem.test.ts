/** PEM codec. [SPEC 10.1] */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodePem, encodePem, derObjects, PEM_MAX_LENGTH } from '../../src/codec/pem.js';
import { HopsafeError } from '../../src/errors/index.js';
import { throwsWith } from '../support/pki.js';

test('encode/decode round trip, several blocks, text around blocks ignored', () => {
  const a = new Uint8Array([1, 2, 3]);
  const b = new Uint8Array(200).map((_, i) => i);
  const text = `subject=foo\n${encodePem('CERTIFICATE', a)}junk\n${encodePem('X509 CRL', b)}`;
  const blocks = decodePem(text);
  assert.deepEqual(
    blocks.map((x) => x.label),
    ['CERTIFICATE', 'X509 CRL'],
  );
  assert.deepEqual(blocks[0]!.der, a);
  assert.deepEqual(blocks[1]!.der, b);
  assert.ok(
    encodePem('CERTIFICATE', b)
      .split('\n')
      .every((l) => l.length <= 64),
  );
  assert.deepEqual(
    decodePem(text.replace(/\n/g, '\r\n')).map((x) => x.der.length),
    [3, 200],
  );
});

test('DER bytes pass through; labels are checked', () => {
  const der = new Uint8Array([0x30, 0x00]);
  assert.deepEqual(derObjects(der, ['CERTIFICATE']), [der]);
  throwsWith(() => derObjects(encodePem('PRIVATE KEY', der), ['CERTIFICATE']), 'ERR_MALFORMED');
  throwsWith(() => derObjects(new Uint8Array(0), ['CERTIFICATE']), 'ERR_MALFORMED');
});

test('bad PEM → ERR_MALFORMED', () => {
  throwsWith(() => decodePem('no pem here'), 'ERR_MALFORMED');
  throwsWith(() => decodePem('-----BEGIN CERTIFICATE-----\nAAA*\n-----END CERTIFICATE-----'), 'ERR_MALFORMED');
  throwsWith(() => decodePem('-----BEGIN CERTIFICATE-----\nAAAA\n-----END X509 CRL-----'), 'ERR_MALFORMED');
  throwsWith(() => decodePem('-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----'), 'ERR_MALFORMED');
  throwsWith(() => decodePem('-----BEGIN PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nAAAA\n-----END PRIVATE KEY-----'), 'ERR_MALFORMED');
  throwsWith(() => decodePem('x'.repeat(PEM_MAX_LENGTH + 1)), 'ERR_MALFORMED');
});

test('property: arbitrary text never throws anything but ERR_MALFORMED', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (s) => {
      try {
        decodePem(`-----BEGIN CERTIFICATE-----\n${s}\n-----END CERTIFICATE-----`);
      } catch (e) {
        assert.ok(e instanceof HopsafeError && e.code === 'ERR_MALFORMED');
      }
    }),
  );
});
