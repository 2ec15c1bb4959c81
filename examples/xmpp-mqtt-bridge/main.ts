/**
 * A control center on XMPP, DERs on MQTT, and a bridge between the two that holds no keys.
 *
 *   npx tsx examples/xmpp-mqtt-bridge/main.ts          # embedded MQTT broker + a private Prosody (needs prosody installed)
 *   npx tsx examples/xmpp-mqtt-bridge/main.ts --mqtt mqtt://127.0.0.1:1883 \
 *       --xmpp xmpp://xmpp.example:5222 --domain grid.example --passwords xmpp-passwords.json
 *
 * With --xmpp, the XMPP server must have an account for every endpoint id — `control-center` (the endpoint itself) and
 * every DER id (the bridge logs in as each of them to carry their frames onto XMPP) — with the passwords in the JSON
 * file `{ "control-center": "…", "der-1": "…", … }`. Without --xmpp, a private Prosody is started on a free loopback
 * port with those accounts (test/support/prosody.ts, the harness of hopsafe's own tests: present in a checkout of the
 * repository, not in the installed package) and stopped at the end.
 *
 * Every DER sends telemetry to the control center with `confirm: true`, the control center answers each DER with a
 * setpoint, confirmed too: the confirmations are end to end, through MQTT, the bridge and XMPP.
 * Prints JSON lines and a summary; exit 0 when all went through, 1 when not, 2 for bad arguments, 3 when no XMPP
 * server is given and Prosody is not installed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createEndpoint, isHopsafeError, type Endpoint, type Transport } from 'hopsafe';
import { mqttTransport } from 'hopsafe/mqtt';
import { xmppTransport, XMPP_DEFAULT_MAX_FRAME_SIZE } from 'hopsafe/xmpp';
import { createBridge, type Bridge } from 'hopsafe/bridge';
import { startBroker, type RunningBroker } from 'hopsafe/broker';
import { createTestPki } from 'hopsafe/testing';

/** What this example uses of hopsafe's own Prosody harness (test/support/prosody.ts in the repository). */
interface RunningProsody {
  readonly service: string;
  readonly domain: string;
  stop(): Promise<void>;
}
interface ProsodyHarness {
  prosodyInstalled(): boolean;
  startProsody(opts: { users: { username: string; password: string }[] }): Promise<RunningProsody>;
}
async function prosodyHarness(): Promise<ProsodyHarness | undefined> {
  const url = new URL('../../test/support/prosody.ts', import.meta.url);
  return existsSync(url) ? ((await import(url.href)) as ProsodyHarness) : undefined;
}

const { values } = parseArgs({
  options: {
    mqtt: { type: 'string' }, // default: the embedded broker
    xmpp: { type: 'string' }, // default: a private Prosody
    domain: { type: 'string' },
    passwords: { type: 'string' },
    ders: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
  },
});
const DERS = Number(values.ders);
const ROUNDS = Number(values.rounds);
if (!Number.isInteger(DERS) || DERS < 1 || DERS > 50 || !Number.isInteger(ROUNDS) || ROUNDS < 1) {
  console.error('--ders must be 1..50 and --rounds a positive integer');
  process.exit(2);
}
if (values.xmpp !== undefined && (values.domain === undefined || values.passwords === undefined)) {
  console.error('--xmpp needs --domain and --passwords FILE (JSON: endpoint id → XMPP account password)');
  process.exit(2);
}
const harness = values.xmpp === undefined ? await prosodyHarness() : undefined;
if (values.xmpp === undefined && (harness === undefined || !harness.prosodyInstalled())) {
  console.error(
    harness === undefined
      ? 'no XMPP server: give --xmpp/--domain/--passwords (a private Prosody needs a checkout of the hopsafe repository)'
      : 'no XMPP server: give --xmpp/--domain/--passwords, or install Prosody (Debian: apt-get install prosody) for a private one',
  );
  process.exit(3);
}

const CC = 'control-center';
const derIds = Array.from({ length: DERS }, (_, i) => `der-${i + 1}`);
const ids = [CC, ...derIds];
const log = (o: Record<string, unknown>): void => console.log(JSON.stringify(o));
const json = (o: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(o));
const codeOf = (e: unknown): string => (isHopsafeError(e) ? e.code : String(e));

let ok = true;
const check = (what: string, pass: boolean, detail: Record<string, unknown> = {}): void => {
  log({ check: what, pass, ...detail });
  if (!pass) ok = false;
};

let broker: RunningBroker | undefined;
let prosody: RunningProsody | undefined;
let bridge: Bridge | undefined;
const endpoints: Endpoint[] = [];
try {
  // 1. MQTT: your broker or the embedded one.
  const mqttUrl = values.mqtt ?? (broker = await startBroker()).url;

  // 2. XMPP: your server (accounts exist already) or a private Prosody with one account per id.
  let service: string;
  let domain: string;
  let passwords: Record<string, string>;
  if (values.xmpp !== undefined) {
    service = values.xmpp;
    domain = values.domain!;
    passwords = JSON.parse(readFileSync(values.passwords!, 'utf8')) as Record<string, string>;
    const missing = ids.filter((id) => typeof passwords[id] !== 'string');
    if (missing.length > 0) throw new Error(`${values.passwords}: no password for ${missing.join(', ')}`);
  } else {
    passwords = Object.fromEntries(ids.map((id) => [id, randomBytes(12).toString('base64url')]));
    prosody = await harness!.startProsody({ users: ids.map((id) => ({ username: id, password: passwords[id]! })) });
    service = prosody.service;
    domain = prosody.domain;
  }
  log({ step: 'servers', mqtt: mqttUrl, embeddedMqtt: broker !== undefined, xmpp: service, domain, privateProsody: prosody !== undefined });

  // Endpoints behind a bridge use the smallest maxFrameSize of the systems their frames cross (SPEC 8.5).
  const maxFrameSize = XMPP_DEFAULT_MAX_FRAME_SIZE;
  const onMqtt = (): Transport => mqttTransport({ url: mqttUrl, unsubscribeOnClose: true, maxFrameSize });
  const onXmpp = (id: string): Transport => xmppTransport({ service, domain, password: passwords[id]!, maxFrameSize });

  // 3. The bridge: forwards opaque frames, holds no keys. One proxy per id on each side it does not live on.
  bridge = await createBridge({
    sides: { mqtt: onMqtt, xmpp: onXmpp },
    endpoints: Object.fromEntries(ids.map((id) => [id, id === CC ? 'xmpp' : 'mqtt'])),
  });

  // 4. The endpoints (a throw-away PKI; the bridge never sees any of it).
  const pki = await createTestPki({ endpoints: [{ id: CC, roles: ['OPERATOR'] }, ...derIds.map((id) => ({ id, roles: ['VIEWER'] }))] });
  const open = async (id: string, transport: Transport): Promise<Endpoint> => {
    const ep = await createEndpoint({ id, identity: pki.identities[id]!, trust: pki.trust(), transport, protection: 'confidentiality' });
    endpoints.push(ep);
    ep.on('reject', ({ code, from }) => log({ event: 'reject', at: id, code, from }));
    return ep;
  };
  const telemetry = new Map<string, number>();
  const cc = await open(CC, onXmpp(CC));
  cc.on('message', ({ from, roles }) => {
    telemetry.set(from, (telemetry.get(from) ?? 0) + 1);
    if (telemetry.get(from) === 1) log({ event: 'telemetry', at: CC, from, roles });
  });
  const setpoints = new Map<string, { from: string; roles: readonly string[]; P_MW: number }>();
  const ders = await Promise.all(
    derIds.map(async (id) => {
      const der = await open(id, onMqtt());
      der.on('message', ({ from, roles, data }) => {
        const cmd = JSON.parse(new TextDecoder().decode(data)) as { setpoint: { P_MW: number } };
        setpoints.set(id, { from, roles, P_MW: cmd.setpoint.P_MW });
      });
      return der;
    }),
  );

  // 5. MQTT → bridge → XMPP, confirmed end to end.
  await Promise.all(
    ders.map(async (der) => {
      for (let n = 1; n <= ROUNDS; n++) await der.send(CC, json({ type: 'telemetry', n, P_MW: 4.2 }), { confirm: true });
    }),
  );
  check(
    'telemetry from every DER reached the control center, confirmed',
    derIds.every((id) => telemetry.get(id) === ROUNDS),
    {
      received: Object.fromEntries(telemetry),
    },
  );

  // 6. XMPP → bridge → MQTT, confirmed end to end.
  await Promise.all(derIds.map((id, i) => cc.send(id, json({ type: 'command', setpoint: { P_MW: 3 + i } }), { confirm: true })));
  check(
    'every DER got its setpoint from the OPERATOR',
    derIds.every((id, i) => {
      const s = setpoints.get(id);
      return s !== undefined && s.from === CC && s.roles.includes('OPERATOR') && s.P_MW === 3 + i;
    }),
  );

  const stats = bridge.stats();
  log({
    step: 'bridge',
    forwarded: stats.forwarded,
    bytes: stats.bytes,
    proxies: stats.proxies,
    unroutable: stats.unroutable,
    failed: stats.failed,
    perSide: stats.perSide,
  });
  check(
    'the bridge forwarded frames both ways and opened one proxy per id',
    (stats.perSide.mqtt?.forwarded ?? 0) > 0 && (stats.perSide.xmpp?.forwarded ?? 0) > 0 && stats.proxies === ids.length,
  );
} catch (e) {
  check('no unexpected error', false, { error: codeOf(e), message: e instanceof Error ? e.message : String(e) });
} finally {
  await Promise.allSettled(endpoints.map((ep) => ep.close()));
  await bridge?.close();
  await broker?.close();
  await prosody?.stop();
}
log({ summary: ok ? 'ok' : 'FAILED' });
process.exitCode = ok ? 0 : 1;
