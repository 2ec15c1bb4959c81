/**
 * The public API (issue 17): what each documented sub-path exports, and a doc comment on every export (TypeDoc
 * builds the reference from them: `npm run docs`). A new export fails the first test until it is added to SURFACE
 * below on purpose; an export without a doc comment fails the second.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { exports: Record<string, string | { default?: string }> };

/** Sub-path → its source entry (dist/x.js → src/x.ts). */
const entries = Object.fromEntries(
  Object.entries(pkg.exports)
    .filter((e): e is [string, { default: string }] => typeof e[1] === 'object' && typeof e[1].default === 'string')
    .map(([sub, v]) => [sub, `${ROOT}${v.default.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')}`]),
);

function exportsOf(): Map<string, { name: string; doc: string }[]> {
  const program = ts.createProgram(Object.values(entries), {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const out = new Map<string, { name: string; doc: string }[]>();
  for (const [sub, file] of Object.entries(entries)) {
    const sf = program.getSourceFile(file);
    assert.ok(sf, `${sub}: ${file} is in the program`);
    const mod = checker.getSymbolAtLocation(sf);
    assert.ok(mod, `${sub}: ${file} is a module`);
    out.set(
      sub,
      checker.getExportsOfModule(mod).map((e) => {
        const target = e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e;
        const doc = [e, target].map((s) => ts.displayPartsToString(s.getDocumentationComment(checker)).trim()).find((d) => d !== '') ?? '';
        return { name: e.name, doc };
      }),
    );
  }
  return out;
}

const api = exportsOf();

test('every sub-path in package.json exports exactly its documented surface (no internals, no export * of tables)', () => {
  const got = Object.fromEntries([...api].map(([sub, list]) => [sub, list.map((e) => e.name).sort()]));
  const want = Object.fromEntries(Object.entries(SURFACE).map(([sub, names]) => [sub, [...names].sort()]));
  assert.deepEqual(got, want);
});

test('every public export has a doc comment', () => {
  const missing = [...api].flatMap(([sub, list]) => list.filter((e) => e.doc === '').map((e) => `${sub}: ${e.name}`));
  assert.deepEqual(missing, []);
});

test('the check sees a missing doc comment and an unlisted export', () => {
  const all = [...api.values()].flat();
  assert.ok(all.length > 100, `${all.length} exports found`);
  assert.ok(
    all.some((e) => e.name === 'createEndpoint' && e.doc.length > 0),
    'createEndpoint has its doc comment',
  );
});

const SURFACE: Record<string, readonly string[]> = {
  '.': [
    'AsyncSigner',
    'Authorize',
    'AuthorizeContext',
    'CryptoProvider',
    'DEFAULT_SUITES',
    'ENDPOINT_ID_PATTERN',
    'ERROR_CODES',
    'Endpoint',
    'EndpointEvents',
    'EndpointOptions',
    'EndpointQueues',
    'EndpointStats',
    'ErrorCode',
    'FrameHandler',
    'Group',
    'GroupFrameHandler',
    'GroupOptions',
    'HandshakeEvent',
    'HopsafeError',
    'InboundFrame',
    'InboundStats',
    'KeyUpdateEvent',
    'MessageEvent',
    'MetricsOptions',
    'PemOrDer',
    'RejectEvent',
    'RoleAssignment',
    'SUITES',
    'SendOptions',
    'SessionClosedEvent',
    'SessionEvent',
    'SessionOptions',
    'Suite',
    'Transport',
    'TransportStatus',
    'TrustWarningEvent',
    'TrustConfig',
    'UnconfirmedEvent',
    'VerifiedPeer',
    'assertEndpointId',
    'createEndpoint',
    'isHopsafeError',
  ],
  './memory': ['InterceptedFrame', 'Interceptor', 'MemoryHub', 'MemoryHubOptions', 'createMemoryHub'],
  './mqtt': [
    'DEFAULT_MQTT_MAX_FRAME_SIZE',
    'DEFAULT_PREFIX',
    'MqttTransportOptions',
    'frameTopic',
    'inboxFilter',
    'mqttTransport',
    'parseFrameTopic',
  ],
  './amqp': [
    'AMQP_DEFAULT_MAX_FRAME_SIZE',
    'AMQP_MAX_FRAME_SIZE_LIMIT',
    'AmqpReconnectOptions',
    'AmqpSocketOptions',
    'AmqpTlsOptions',
    'AmqpTransportOptions',
    'amqpTransport',
  ],
  './xmpp': [
    'FRAME_NS',
    'XMPP_DEFAULT_MAX_FRAME_SIZE',
    'XmppClientHandle',
    'XmppTlsOptions',
    'XmppTransportOptions',
    'maxFrameSizeForStanzaLimit',
    'xmppTransport',
  ],
  './nats': [
    'NATS_DEFAULT_MAX_FRAME_SIZE',
    'NATS_DEFAULT_PREFIX',
    'NATS_MAX_FRAME_SIZE_LIMIT',
    'NatsJetStreamOptions',
    'NatsTlsOptions',
    'NatsTransportOptions',
    'natsDurableName',
    'natsInbox',
    'natsSubject',
    'natsTransport',
  ],
  './bridge': ['Bridge', 'BridgeMetricsOptions', 'BridgeOptions', 'BridgeSideStats', 'BridgeStats', 'TransportFactory', 'createBridge'],
  './broker': [
    'BrokerClient',
    'BrokerOptions',
    'BrokerPersistence',
    'InjectedFrame',
    'InterceptedFrame',
    'Interceptor',
    'RunningBroker',
    'createMemoryPersistence',
    'startBroker',
  ],
  './pki': [
    'AuthorizationContext',
    'Authorizer',
    'DEFAULT_ACCEPTED_EKUS',
    'HOPSAFE_URI_PREFIX',
    'ID_IEC62351_8_ROLE_INFO',
    'ID_KP_HOPSAFE_ENDPOINT',
    'ID_ON_HOPSAFE_ENDPOINT_ID',
    'LoadIdentityOptions',
    'LocalIdentity',
    'POLICY_MAX_GLOB_LENGTH',
    'POLICY_MAX_VALUE_LENGTH',
    'PREDEFINED_ROLES',
    'ParsedAttributeCert',
    'ParsedCert',
    'ParsedCrl',
    'PeerVerifier',
    'PemOrDer',
    'Policy',
    'PolicyInput',
    'PredefinedRole',
    'REFUSAL_CODES',
    'RoleAssignment',
    'RoleSpec',
    'TrustConfig',
    'TrustStore',
    'TrustStoreOptions',
    'TrustUpdate',
    'TrustWarning',
    'VerifiedPeer',
    'VerifyRequest',
    'createAuthorizer',
    'createTrustStore',
    'decodeRoleInformation',
    'encodeRoleInformation',
    'loadIdentity',
    'loadPolicy',
    'loadSignerIdentity',
    'loadPrivateKey',
    'namesEndpoint',
    'parseAttributeCertificate',
    'parseCertificate',
    'parseCrl',
    'parsePolicy',
    'parseRoleSpec',
    'roleNameForId',
    'rolesAt',
    'validateOwn',
  ],
  './crypto': [
    'AEAD_KEY_LENGTH',
    'AEAD_NONCE_LENGTH',
    'AEAD_TAG_LENGTH',
    'AeadAlg',
    'AsyncSigner',
    'CryptoProvider',
    'DEFAULT_SUITES',
    'GroupName',
    'HASH_LENGTH',
    'HashAlg',
    'KemAlg',
    'KemEncapsulation',
    'KemKeyPair',
    'KexGroup',
    'KeyPair',
    'NativeAeadStatus',
    'NodeProviderOptions',
    'PrivateKeyHandle',
    'PublicKeyHandle',
    'SUITES',
    'SignatureAlg',
    'Suite',
    'createNobleProvider',
    'createNodeProvider',
    'nativeAeadStatus',
    'suiteById',
    'suiteByName',
  ],
  './testing': [
    'CreateTestPkiOptions',
    'TestEndpointSpec',
    'TestIdentity',
    'TestKeyType',
    'TestLeafOptions',
    'TestPki',
    'createTestPki',
    'createTestPkiSync',
  ],
  './browser': [
    'AsyncSigner',
    'Endpoint',
    'EndpointOptions',
    'HopsafeError',
    'MqttWsTransportOptions',
    'SendOptions',
    'createEndpoint',
    'createNobleProvider',
    'isHopsafeError',
    'generateNonExtractableKey',
    'importNonExtractableKey',
    'mqttWsTransport',
    'verifyVector',
    'WebCryptoKey',
    'WebCryptoKeyStore',
    'WebCryptoSignatureAlg',
    'webCryptoKeyStore',
    'webCryptoSigner',
  ],
  './adversary': [
    'Adversary',
    'AdversaryAction',
    'AdversaryLogEntry',
    'AdversaryOptions',
    'AdversaryRule',
    'FRAME_TYPE_NAMES',
    'ForgedRecord',
    'FrameSelector',
    'FrameTypeName',
    'InjectedFrame',
    'InjectionContext',
    'Injector',
    'Prng',
    'Region',
    'RegionName',
    'Route',
    'Signer',
    'createAdversary',
    'createPrng',
    'downgradeOffer',
    'forgeHandshakeAlert',
    'forgeKeyUpdate',
    'forgeRecord',
    'frameTypeName',
    'locateRegion',
    'rewriteClearToken1',
    'spliceFrames',
  ],
};
