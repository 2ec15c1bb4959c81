/**
 * `hopsafe/browser`: a hopsafe endpoint in a web page — `createEndpoint` with the noble provider (the default here)
 * and MQTT over WebSocket (mqtt.js's browser build), as one self-contained ES module (dist/browser/index.js, built by
 * scripts/build-browser.mjs). No Node built-in and no Node global is in it. Not available in the browser: Prometheus
 * metrics (ERR_UNSUPPORTED), RSA keys and certificates, SEC1 private keys (give PKCS#8).
 *
 * Keys: the page loads the PKCS#8 key and the chain (file input, fetch); the key stays in the page's memory. Or, where
 * the platform allows, the key is a non-extractable WebCrypto key (`generateNonExtractableKey` /
 * `importNonExtractableKey`, kept in IndexedDB by `webCryptoKeyStore`) given as `identity.signer:
 * webCryptoSigner(key)`: it never exists as bytes in script. [SPEC 10.6]
 */
export { createEndpoint } from '../endpoint/create.js';
/** An endpoint: `send`, `close`, events (`message`, `session`, `key-update`, `reject`, …). */
export type { Endpoint } from '../endpoint/endpoint.js';
/** Options of `createEndpoint` (in the browser: no `metrics`; `provider` defaults to noble). */
export type { EndpointOptions } from '../endpoint/options.js';
/** Options of `Endpoint.send` (`confirm`). */
export type { SendOptions } from '../endpoint/options.js';
/** The pure-JS provider on @noble (the default in the browser); byte-identical to node:crypto on the vectors. */
export { createNobleProvider } from '../crypto/noble.js';
/** The error class of every hopsafe failure, with a stable string `code`. */
export { HopsafeError } from '../errors/index.js';
/** True when `e` is a HopsafeError (also across bundle copies). */
export { isHopsafeError } from '../errors/index.js';
export { mqttWsTransport, type MqttWsTransportOptions } from './mqtt-ws.js';
export { verifyVector } from '../testing/vectors.js';
export {
  webCryptoSigner,
  importNonExtractableKey,
  generateNonExtractableKey,
  webCryptoKeyStore,
  type WebCryptoKey,
  type WebCryptoKeyStore,
  type WebCryptoSignatureAlg,
} from './webcrypto-key.js';
/** [SPEC 10.6] What `identity.signer` takes: a key that signs asynchronously outside script memory. */
export type { AsyncSigner } from '../crypto/provider.js';
