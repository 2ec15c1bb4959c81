/**
 * Item 2 of issue 15: nameConstraints (RFC 5280 §4.2.1.10), critical or not, permitted and excluded, for the
 * name forms an endpoint id binds to (dNSName, URI, the hopsafe otherName, directoryName, and CN when it binds).
 * Each case is a chain built here; the dNSName cases are compared with `openssl verify`. [SPEC 10.2]
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createTrustStore, parseCertificate } from '../../src/pki/index.js';
import { ID_CE_NAME_CONSTRAINTS, ID_ON_HOPSAFE_ENDPOINT_ID } from '../../src/pki/oids.js';
import { seq, tlv } from '../../src/pki/der.js';
import { utf8 } from '../../src/bytes/index.js';
import type { CertTemplate } from '../../src/pki/issue.js';
import { miniCa, miniLeaf, opensslVerify, rejectsWith, throwsWith } from '../support/pki.js';
import * as asn1js from 'asn1js';

const now = new Date();
const oidDer = (o: string): Uint8Array => new Uint8Array(new asn1js.ObjectIdentifier({ value: o }).toBER(false));

/** GeneralName encodings for constraint bases. */
const gn = {
  dns: (v: string) => tlv(0x82, utf8(v)),
  uri: (v: string) => tlv(0x86, utf8(v)),
  ip: (addrMask: number[]) => tlv(0x87, Uint8Array.from(addrMask)),
  email: (v: string) => tlv(0x81, utf8(v)),
  dn: (name: Uint8Array) => tlv(0xa4, name),
  endpointId: (v: string) => tlv(0xa0, oidDer(ID_ON_HOPSAFE_ENDPOINT_ID), tlv(0xa0, tlv(0x0c, utf8(v)))),
};

function nameConstraints(permitted: Uint8Array[], excluded: Uint8Array[] = []): Uint8Array {
  const subtrees = (tag: number, bases: Uint8Array[]) => tlv(tag, ...bases.map((b) => seq(b)));
  return seq(...(permitted.length ? [subtrees(0xa0, permitted)] : []), ...(excluded.length ? [subtrees(0xa1, excluded)] : []));
}

/** root → sub-CA (with the constraints) → leaf. */
function chain(nc: Uint8Array, critical: boolean, leafExtra: Partial<CertTemplate>, leafCn = 'leaf') {
  const root = miniCa('nc root', now);
  const sub = miniCa('nc sub', now, { issuer: root, extra: { extraExtensions: [{ oid: ID_CE_NAME_CONSTRAINTS, critical, value: nc }] } });
  const leaf = miniLeaf(leafCn, sub, now, leafExtra);
  return { root, sub, leaf };
}

async function verdict(c: ReturnType<typeof chain>, id: string): Promise<'ok' | string> {
  try {
    await createTrustStore({ roots: [c.root.der] }).verify({ chain: [c.leaf.der, c.sub.der], claimedId: id, now });
    return 'ok';
  } catch (e) {
    return (e as { code: string }).code;
  }
}

describe('nameConstraints [SPEC 10.2]', () => {
  for (const critical of [false, true]) {
    test(`dNSName permitted allowed.example (${critical ? 'critical' : 'non-critical'}): evil.example refused ERR_CERT_USAGE, as OpenSSL ("permitted subtree violation")`, async () => {
      const nc = nameConstraints([gn.dns('allowed.example')]);
      const evil = chain(nc, critical, { san: { dns: ['evil.example'] } });
      await rejectsWith(
        createTrustStore({ roots: [evil.root.der] }).verify({ chain: [evil.leaf.der, evil.sub.der], claimedId: 'evil.example', now }),
        'ERR_CERT_USAGE',
      );
      const o1 = opensslVerify(evil.leaf.der, [evil.root.der], { untrusted: [evil.sub.der] });
      if (o1) {
        assert.equal(o1.ok, false);
        assert.match(o1.out, /permitted subtree violation/);
      }
      for (const name of ['allowed.example', 'der-1.allowed.example', 'A.ALLOWED.example']) {
        const good = chain(nc, critical, { san: { dns: [name] } });
        assert.equal(await verdict(good, name), 'ok', name);
        const o2 = opensslVerify(good.leaf.der, [good.root.der], { untrusted: [good.sub.der] });
        if (o2) assert.equal(o2.ok, true, `${name}: ${o2.out}`);
      }
      const lookalike = chain(nc, critical, { san: { dns: ['notallowed.example'] } });
      assert.equal(await verdict(lookalike, 'notallowed.example'), 'ERR_CERT_USAGE', 'label boundary');
    });
  }

  test('dNSName excluded: a name inside it refused, outside accepted; OpenSSL agrees', async () => {
    const nc = nameConstraints([], [gn.dns('secret.example')]);
    const bad = chain(nc, true, { san: { dns: ['x.secret.example'] } });
    assert.equal(await verdict(bad, 'x.secret.example'), 'ERR_CERT_USAGE');
    const o = opensslVerify(bad.leaf.der, [bad.root.der], { untrusted: [bad.sub.der] });
    if (o) assert.match(o.out, /excluded subtree violation/);
    assert.equal(await verdict(chain(nc, true, { san: { dns: ['public.example'] } }), 'public.example'), 'ok');
  });

  test('a wildcard dNSName is refused when any name it matches is excluded, or not all are permitted (limbo cve-2025-61727)', async () => {
    assert.equal(
      await verdict(
        chain(nameConstraints([], [gn.dns('bar.example.com')]), true, { san: { dns: ['*.example.com', 'ok.other'] } }),
        'ok.other',
      ),
      'ERR_CERT_USAGE',
    );
    assert.equal(
      await verdict(
        chain(nameConstraints([gn.dns('foo.example.com')]), true, { san: { dns: ['*.example.com', 'foo.example.com'] } }),
        'foo.example.com',
      ),
      'ERR_CERT_USAGE',
    );
    assert.equal(
      await verdict(
        chain(nameConstraints([gn.dns('example.com')]), true, { san: { dns: ['*.example.com', 'a.example.com'] } }),
        'a.example.com',
      ),
      'ok',
    );
  });

  test('hopsafe otherName: exact and trailing-* prefix constraints; the URI form of the id is governed by URI constraints', async () => {
    const nc = nameConstraints([gn.endpointId('der-*')]);
    assert.equal(await verdict(chain(nc, true, { san: { endpointIds: ['der-17'] } }), 'der-17'), 'ok');
    assert.equal(await verdict(chain(nc, true, { san: { endpointIds: ['control-center'] } }), 'control-center'), 'ERR_CERT_USAGE');
    const exact = nameConstraints([], [gn.endpointId('control-center')]);
    assert.equal(await verdict(chain(exact, false, { san: { endpointIds: ['control-center'] } }), 'control-center'), 'ERR_CERT_USAGE');
    assert.equal(await verdict(chain(exact, false, { san: { endpointIds: ['control-center-2'] } }), 'control-center-2'), 'ok');
    // URI constraints are host-based (RFC 5280); a urn: URI has no host, so it is never inside a permitted one
    const uri = nameConstraints([gn.uri('.grid.example')]);
    assert.equal(
      await verdict(chain(uri, true, { san: { uris: ['https://der-1.grid.example/x'] }, extKeyUsage: null }, 'x'), 'x'),
      'ERR_CERT_NAME',
      'URI inside: only the binding is missing',
    );
    assert.equal(await verdict(chain(uri, true, { san: { uris: ['urn:hopsafe:endpoint:der-1'] } }), 'der-1'), 'ERR_CERT_USAGE');
  });

  test('directoryName: the subject must lie under a permitted DN; an excluded DN refuses', async () => {
    const prefix = seq(tlv(0x31, seq(oidDer('2.5.4.10'), tlv(0x0c, utf8('hopsafe unit'))))); // O=hopsafe unit
    assert.equal(await verdict(chain(nameConstraints([gn.dn(prefix)]), true, { san: { endpointIds: ['a'] } }), 'a'), 'ok');
    const otherO = seq(tlv(0x31, seq(oidDer('2.5.4.10'), tlv(0x0c, utf8('someone else')))));
    assert.equal(await verdict(chain(nameConstraints([gn.dn(otherO)]), true, { san: { endpointIds: ['a'] } }), 'a'), 'ERR_CERT_USAGE');
    assert.equal(await verdict(chain(nameConstraints([], [gn.dn(prefix)]), true, { san: { endpointIds: ['a'] } }), 'a'), 'ERR_CERT_USAGE');
    // RFC 5280 §7.1: a PrintableString and a case variant of the same O match the UTF8String subject
    const printable = seq(tlv(0x31, seq(oidDer('2.5.4.10'), tlv(0x13, utf8('HOPSAFE Unit')))));
    assert.equal(await verdict(chain(nameConstraints([gn.dn(printable)]), true, { san: { endpointIds: ['a'] } }), 'a'), 'ok');
  });

  test('CN that binds (no endpoint-naming SAN) is checked as the dNSName, otherName and URI it stands for', async () => {
    // dNSName constraint: CN=evil.example without SAN must not bypass it (OpenSSL also applies DNS constraints to a CN that looks like a hostname)
    const dns = nameConstraints([gn.dns('allowed.example')]);
    assert.equal(await verdict(chain(dns, false, {}, 'evil.example'), 'evil.example'), 'ERR_CERT_USAGE');
    assert.equal(await verdict(chain(dns, false, {}, 'x.allowed.example'), 'x.allowed.example'), 'ok');
    const cnOnly = chain(dns, false, {}, 'evil.example');
    const o = opensslVerify(cnOnly.leaf.der, [cnOnly.root.der], { untrusted: [cnOnly.sub.der] });
    if (o) assert.equal(o.ok, false, o.out);
    // otherName constraint: CN=control-center would bind that id, so it must satisfy it
    const ids = nameConstraints([gn.endpointId('der-*')]);
    assert.equal(await verdict(chain(ids, true, {}, 'control-center'), 'control-center'), 'ERR_CERT_USAGE');
    assert.equal(await verdict(chain(ids, true, {}, 'der-3'), 'der-3'), 'ok');
    // with a SAN present the CN binds nothing (SPEC 10.3) and is not checked as a name
    assert.equal(await verdict(chain(ids, true, { san: { endpointIds: ['der-4'] } }, 'control-center'), 'der-4'), 'ok');
  });

  test('iPAddress constraints are processed; unsupported forms refuse only when a governed name has that form', async () => {
    const ip = nameConstraints([gn.ip([192, 0, 2, 0, 255, 255, 255, 0])]);
    assert.equal(await verdict(chain(ip, true, { san: { endpointIds: ['a'] } }), 'a'), 'ok', 'no IP name on the path');
    const email = nameConstraints([gn.email('example.com')]);
    assert.equal(await verdict(chain(email, true, { san: { endpointIds: ['a'] } }), 'a'), 'ok', 'no rfc822Name on the path');
    const root = miniCa('nc root', now);
    const sub = miniCa('nc sub', now, {
      issuer: root,
      extra: { extraExtensions: [{ oid: ID_CE_NAME_CONSTRAINTS, critical: true, value: email }] },
    });
    // a leaf whose SAN carries an rfc822Name besides its endpoint id
    const leaf = miniLeaf('a', sub, now, {
      extraExtensions: [{ oid: '2.5.29.17', critical: false, value: seq(gn.email('a@example.com'), gn.endpointId('a')) }],
    });
    await rejectsWith(
      createTrustStore({ roots: [root.der] }).verify({ chain: [leaf.der, sub.der], claimedId: 'a', now }),
      'ERR_CERT_USAGE',
    );
  });

  test('malformed constraints → ERR_MALFORMED: empty extension, leading-period or wildcard dNSName, bad IP mask; nameConstraints in a leaf → ERR_CERT_USAGE', async () => {
    const root = miniCa('r', now);
    const ca = (value: Uint8Array) =>
      miniCa('c', now, { issuer: root, extra: { extraExtensions: [{ oid: ID_CE_NAME_CONSTRAINTS, critical: true, value }] } }).der;
    throwsWith(() => parseCertificate(ca(seq())), 'ERR_MALFORMED', 'empty');
    throwsWith(() => parseCertificate(ca(seq(tlv(0xa0)))), 'ERR_MALFORMED', 'empty permitted');
    throwsWith(() => parseCertificate(ca(nameConstraints([gn.dns('.example.com')]))), 'ERR_MALFORMED', 'leading period');
    throwsWith(() => parseCertificate(ca(nameConstraints([gn.dns('*.example.com')]))), 'ERR_MALFORMED', 'wildcard');
    throwsWith(() => parseCertificate(ca(nameConstraints([gn.ip([10, 0, 0, 0, 255, 0, 255, 0])]))), 'ERR_MALFORMED', 'mask');
    const leaf = miniLeaf('a', root, now, {
      extraExtensions: [{ oid: ID_CE_NAME_CONSTRAINTS, critical: true, value: nameConstraints([gn.dns('a')]) }],
    });
    await rejectsWith(createTrustStore({ roots: [root.der] }).verify({ chain: [leaf.der], claimedId: 'a', now }), 'ERR_CERT_USAGE');
  });

  test('constraints of the root and of every CA above apply; self-issued intermediates are exempt, the leaf is not', async () => {
    const root = miniCa('root', now, {
      extra: { extraExtensions: [{ oid: ID_CE_NAME_CONSTRAINTS, critical: true, value: nameConstraints([gn.dns('example.com')]) }] },
    });
    const inter = miniCa('inter', now, {
      issuer: root,
      extra: { extraExtensions: [{ oid: ID_CE_NAME_CONSTRAINTS, critical: true, value: nameConstraints([gn.dns('a.example.com')]) }] },
    });
    const ok = miniLeaf('x', inter, now, { san: { dns: ['x.a.example.com'] } });
    const widened = miniLeaf('x', inter, now, { san: { dns: ['x.b.example.com'] } });
    const store = createTrustStore({ roots: [root.der] });
    await store.verify({ chain: [ok.der, inter.der], claimedId: 'x.a.example.com', now });
    await rejectsWith(store.verify({ chain: [widened.der, inter.der], claimedId: 'x.b.example.com', now }), 'ERR_CERT_USAGE');
  });
});
