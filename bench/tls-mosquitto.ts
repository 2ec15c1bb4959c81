/**
 * The hop-by-hop TLS baseline of the E2E benchmark (issue 19): a private Mosquitto the bench starts itself (own
 * config, free ports, temp dir; never the system broker) with a plain TCP listener and a TLS listener requiring a
 * client certificate (mutual TLS, as hopsafe authenticates both ends), certificates made with the openssl CLI
 * (test/support/tls-certs.ts). Both listeners belong to the same broker process, so the lanes over them are compared
 * side by side.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mosquittoBinary, runMosquitto } from '../test/support/mosquitto.js';
import { makeTlsFiles, opensslAvailable, type TlsFiles } from '../test/support/tls-certs.js';
import { freePort, reachable } from '../test/support/net.js';

export interface TlsMosquitto {
  readonly url: string;
  readonly tlsUrl: string;
  readonly tls: TlsFiles;
  stop(): Promise<void>;
}

/** Why the TLS baseline cannot run here, or undefined. */
export function tlsMosquittoUnavailable(): string | undefined {
  if (!mosquittoBinary()) return 'the mosquitto binary is not installed';
  if (!opensslAvailable()) return 'the openssl CLI is not installed';
  return undefined;
}

export async function startTlsMosquitto(): Promise<TlsMosquitto> {
  const binary = mosquittoBinary();
  if (!binary) throw new Error('the mosquitto binary is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'hopsafe-bench-mosq-tls-'));
  chmodSync(dir, 0o755); // mosquitto started as root drops to the 'mosquitto' user before reading its files
  const tls = makeTlsFiles(dir);
  const [port, tlsPort] = [await freePort(), await freePort()];
  const conf = [
    'persistence false',
    'allow_anonymous true',
    `listener ${port} 127.0.0.1`,
    `listener ${tlsPort} 127.0.0.1`,
    `cafile ${tls.ca}`,
    `certfile ${tls.serverCert}`,
    `keyfile ${tls.serverKey}`,
    'require_certificate true',
    '',
  ].join('\n');
  const confPath = join(dir, 'mosquitto.conf');
  writeFileSync(confPath, conf, { mode: 0o644 });
  const running = await runMosquitto(binary, dir, confPath, tlsPort);
  if (!(await reachable('127.0.0.1', port, 1000))) {
    await running.stop();
    throw new Error(`private mosquitto: listener ${port} is not up:\n${running.output()}`);
  }
  return { url: `mqtt://127.0.0.1:${port}`, tlsUrl: `mqtts://127.0.0.1:${tlsPort}`, tls, stop: () => running.stop() };
}
