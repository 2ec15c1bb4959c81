/**
 * DERs → control center: secure MQTT telemetry end to end, and setpoint commands back.
 *
 *   npx tsx examples/mqtt-telemetry/main.ts                          # embedded MQTT broker (hopsafe/broker)
 *   npx tsx examples/mqtt-telemetry/main.ts --url mqtt://127.0.0.1:1883 --ders 5 --rounds 20
 *
 * - A throw-away PKI (hopsafe/testing): the control center holds the IEC 62351-8 role OPERATOR, the DERs and a
 *   historian hold VIEWER.
 * - Policies: a DER takes `command` messages from OPERATORs only and sends only `telemetry`; the control center takes
 *   `telemetry` from VIEWERs and sends `command`s to DERs. Message types come from the payload (`classify`).
 * - Every DER sends telemetry with `confirm: true` (resolves once the control center's application got it, SPEC 7.6);
 *   the control center answers each DER with one setpoint, confirmed the same way.
 * - The historian (VIEWER) tries to send a setpoint to der-1: der-1 refuses it and the historian's send rejects with
 *   ERR_FORBIDDEN — the message never reached der-1's application.
 *
 * Prints one JSON line per step and a summary; exits 0 when everything above happened, 1 otherwise.
 */
import { parseArgs } from 'node:util';
import { createEndpoint, isHopsafeError, type Endpoint, type EndpointOptions } from 'hopsafe';
import { mqttTransport } from 'hopsafe/mqtt';
import { startBroker, type RunningBroker } from 'hopsafe/broker';
import { createTestPki } from 'hopsafe/testing';

const { values } = parseArgs({
  options: {
    url: { type: 'string' }, // an MQTT broker; default: start the embedded one
    ders: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '5' },
    prefix: { type: 'string', default: 'hopsafe' },
  },
});
const DERS = Number(values.ders);
const ROUNDS = Number(values.rounds);
if (!Number.isInteger(DERS) || DERS < 1 || DERS > 100 || !Number.isInteger(ROUNDS) || ROUNDS < 1) {
  console.error('--ders must be 1..100 and --rounds a positive integer');
  process.exit(2);
}

const CC = 'control-center';
const derIds = Array.from({ length: DERS }, (_, i) => `der-${i + 1}`);
const text = new TextDecoder();
const json = (o: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(o));
const parse = (data: Uint8Array): { type?: unknown } => JSON.parse(text.decode(data)) as { type?: unknown };
const log = (o: Record<string, unknown>): void => console.log(JSON.stringify(o));
const codeOf = (e: unknown): string => (isHopsafeError(e) ? e.code : String(e));

// 1. The intermediary: your broker, or the embedded one.
let broker: RunningBroker | undefined;
const url = values.url ?? (broker = await startBroker()).url;
log({ step: 'broker', url, embedded: broker !== undefined });

// 2. A throw-away PKI with roles (use `hopsafe pki init` or your own CA in production).
const pki = await createTestPki({
  endpoints: [{ id: CC, roles: ['OPERATOR'] }, ...derIds.map((id) => ({ id, roles: ['VIEWER'] })), { id: 'historian', roles: ['VIEWER'] }],
});

// The payload names its own type; the policy decides on it. A payload that is not JSON throws: refused.
const classify: EndpointOptions['classify'] = (data) => {
  const type = parse(data).type;
  return typeof type === 'string' ? { type } : {};
};

const endpoints: Endpoint[] = [];
const open = async (id: string, extra: Partial<EndpointOptions> = {}): Promise<Endpoint> => {
  const ep = await createEndpoint({
    id,
    identity: pki.identities[id]!,
    trust: pki.trust(),
    // client id = endpoint id (the default), so a broker ACL such as examples/mosquitto/hopsafe.acl applies
    transport: mqttTransport({ url, prefix: values.prefix, unsubscribeOnClose: true }),
    protection: 'confidentiality',
    ...extra,
  });
  endpoints.push(ep);
  return ep;
};

let ok = true;
const check = (what: string, pass: boolean, detail: Record<string, unknown> = {}): void => {
  log({ check: what, pass, ...detail });
  if (!pass) ok = false;
};

try {
  // 3. The control center: telemetry from VIEWERs in, commands to DERs out.
  const telemetry = new Map<string, number>();
  const cc = await open(CC, {
    policy: {
      default: 'deny',
      rules: [
        { roles: ['VIEWER'], direction: 'receive', types: ['telemetry'] },
        { roles: ['*'], direction: 'send', types: ['command'], peers: ['der-*'] },
      ],
    },
    classify,
  });
  cc.on('message', ({ from }) => {
    telemetry.set(from, (telemetry.get(from) ?? 0) + 1); // `from` and its roles are verified; the payload decrypted
  });
  cc.on('reject', ({ code, from }) => log({ event: 'reject', at: CC, code, from }));

  // 4. The DERs: commands from OPERATORs only, telemetry out.
  const setpoints = new Map<string, number>();
  const refusedAtDer: string[] = [];
  const ders = await Promise.all(
    derIds.map(async (id) => {
      const der = await open(id, {
        policy: {
          default: 'deny',
          rules: [
            { roles: ['OPERATOR'], direction: 'receive', types: ['command'] },
            { roles: ['*'], direction: 'send', types: ['telemetry'] },
          ],
        },
        classify,
      });
      der.on('message', ({ from, data, roles }) => {
        const cmd = parse(data) as { setpoint?: { P_MW?: number } };
        setpoints.set(id, cmd.setpoint?.P_MW ?? Number.NaN);
        log({ event: 'command', at: id, from, roles, setpoint: cmd.setpoint });
      });
      der.on('reject', ({ code, from }) => {
        if (code === 'ERR_FORBIDDEN') refusedAtDer.push(`${id}<-${from ?? '?'}`);
        log({ event: 'reject', at: id, code, from });
      });
      return der;
    }),
  );

  // 5. Telemetry, confirmed end to end: each send resolves once the control center's application received it.
  const started = Date.now();
  await Promise.all(
    ders.map(async (der, i) => {
      for (let n = 1; n <= ROUNDS; n++) {
        const reading = { type: 'telemetry', n, P_MW: +(4 + Math.sin(n + i)).toFixed(2), Q_MVAr: 0.3, U_kV: 20.1, f_Hz: 50.01 };
        await der.send(CC, json(reading), { confirm: true });
      }
    }),
  );
  const received = [...telemetry.values()].reduce((a, b) => a + b, 0);
  log({ step: 'telemetry', sent: DERS * ROUNDS, received, ms: Date.now() - started });
  check('every telemetry message confirmed and received', received === DERS * ROUNDS && derIds.every((id) => telemetry.get(id) === ROUNDS));

  // 6. One setpoint per DER from the OPERATOR, confirmed.
  await Promise.all(derIds.map((id, i) => cc.send(id, json({ type: 'command', setpoint: { P_MW: 3 + i * 0.5 } }), { confirm: true })));
  check(
    'every DER applied its setpoint',
    derIds.every((id, i) => setpoints.get(id) === 3 + i * 0.5),
  );

  // 7. A VIEWER may not command: der-1 refuses, the historian's send rejects with ERR_FORBIDDEN.
  const historian = await open('historian'); // no policy of its own: it is the would-be intruder
  const forbidden = await historian.send('der-1', json({ type: 'command', setpoint: { P_MW: 99 } }), { confirm: true }).then(
    () => 'delivered',
    (e: unknown) => codeOf(e),
  );
  check("a VIEWER's command is refused with ERR_FORBIDDEN", forbidden === 'ERR_FORBIDDEN' && setpoints.get('der-1') === 3, {
    result: forbidden,
  });
  check('der-1 reported the refusal', refusedAtDer.includes('der-1<-historian'));

  // 8. The control center's policy also holds on the way out: no commands to non-DERs.
  const outbound = await cc.send('historian', json({ type: 'command', setpoint: { P_MW: 1 } })).then(
    () => 'sent',
    (e: unknown) => codeOf(e),
  );
  check('the control center may not command a non-DER (its own policy)', outbound === 'ERR_FORBIDDEN', { result: outbound });

  const s = cc.stats();
  log({ step: 'stats', at: CC, sessions: s.sessions, received: s.received, sent: s.sent, confirmed: s.confirmed, rejected: s.rejected });
} catch (e) {
  check('no unexpected error', false, { error: codeOf(e), message: e instanceof Error ? e.message : String(e) });
} finally {
  await Promise.allSettled(endpoints.map((ep) => ep.close()));
  await broker?.close();
}
log({ summary: ok ? 'ok' : 'FAILED' });
process.exitCode = ok ? 0 : 1;
