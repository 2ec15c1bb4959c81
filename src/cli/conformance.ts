/**
 * `hopsafe conformance`: tests an implementation of the protocol (the IUT) over the kit's own broker and writes
 * JSON, HTML and JUnit reports; `--self-test` runs it against hopsafe's echo peer and broken variants. [SPEC Annex C]
 */
import { isHopsafeError } from '../errors/index.js';
import { assertEndpointId } from '../transport/endpoint-id.js';
import { DEFAULT_BROKER_PORT, MANDATORY_SUITE, TOPIC_PREFIX } from '../conformance/contract.js';
import { EXTERNAL_BROKER_SCHEMES } from '../conformance/wire.js';
import { prefixWords } from '../bindings/amqp-routing.js';
import { brokerUrlOption } from './url-option.js';
import { runConformance, selectCases } from '../conformance/runner.js';
import { writeReports } from '../conformance/report.js';
import { selfTest } from '../conformance/self-test.js';
import { parseFlags, UsageError } from './usage.js';
import { suiteNamesHelp, suiteOption } from './suite-option.js';

const USAGE = `usage: hopsafe conformance --iut ID [--broker-port N | --broker URL
           [--prefix P]] [--pki DIR] [--cases GLOB[,GLOB]] [--suite NAME]...
           [--report DIR] [--timeout S] [--wait S]
       hopsafe conformance --self-test [--broker URL] [--report DIR]
           [--cases GLOB] [--suite NAME]... [--timeout S]
       hopsafe conformance --list [--cases GLOB]

  --iut ID          endpoint id of the implementation under test (SPEC Annex C)
  --suite NAME      a suite the IUT enables (repeatable, in the IUT's order;
                    SPEC 4.1, Annex C.1). Declared suites must work: a
                    refusal fails. Without --suite, optional suites the IUT
                    refuses are informational. X25519_AES128GCM_SHA256 is
                    mandatory. With --self-test: the echo peer's suites
                    (default every suite, brainpoolP256r1's last). Names:
${suiteNamesHelp(20)}
  --broker-port N   port of the kit's MQTT broker on 127.0.0.1
                    (default ${DEFAULT_BROKER_PORT}; 0 = any free port)
  --broker URL      an external server instead: amqp://host[:port] (or
                    amqps://, SPEC 8.3) or nats://host[:port] (core NATS,
                    8.11); the kit subscribes to what the IUT sends and
                    publishes to its inbox. Give the run a server or a prefix
                    of its own. With --self-test: every run on it, each with
                    a prefix of its own (AMQP: removed afterwards)
  --prefix P        the IUT's AMQP exchange / NATS subject prefix with
                    --broker (default ${TOPIC_PREFIX}; kit.json says it)
  --pki DIR         where the kit writes ca.pem, crl.pem, ID.pem, ID.key and,
                    last, kit.json (default ./conformance-pki); with a vendor
                    CA there (ca.pem + ca.key) the kit issues under it and
                    keeps ID.pem/ID.key found there
  --cases GLOB      case ids to run, e.g. '6.*' or '1.1.*,7.*' (default all)
  --report DIR      report.json, report.html, junit.xml
                    (default ./conformance-report)
  --timeout S       seconds to wait for what must come (default 2)
  --wait S          seconds to wait for the IUT's first answer (default 120)
Exit codes: 0 no case failed, 1 a case failed, 2 usage error, 3 the IUT
never answered`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    iut: { type: 'string' },
    'broker-port': { type: 'string' },
    broker: { type: 'string' },
    prefix: { type: 'string' },
    pki: { type: 'string', default: 'conformance-pki' },
    cases: { type: 'string' },
    report: { type: 'string' },
    timeout: { type: 'string', default: '2' },
    wait: { type: 'string', default: '120' },
    suite: { type: 'string', multiple: true },
    'self-test': { type: 'boolean' },
    list: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const timeout = Number(values.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0 || timeout > 60) {
    throw new UsageError('--timeout must be a number of seconds in (0, 60]');
  }
  const wait = Number(values.wait);
  if (!Number.isFinite(wait) || wait <= 0 || wait > 3600) {
    throw new UsageError('--wait must be a number of seconds in (0, 3600]');
  }
  const cases = values.cases;
  if (cases !== undefined && selectCases(cases).length === 0) {
    throw new UsageError(`--cases ${JSON.stringify(cases)} selects no case`);
  }
  const suites = suiteOption(values.suite);
  if (suites.length > 0 && !suites.some((x) => x.id === MANDATORY_SUITE))
    throw new UsageError('--suite: the IUT must enable X25519_AES128GCM_SHA256 (mandatory, SPEC Annex C.2)');
  const declared = suites.length > 0 ? { suites } : {};
  const broker = values.broker;
  if (broker !== undefined) {
    brokerUrlOption('--broker', broker, EXTERNAL_BROKER_SCHEMES);
    if (values['broker-port'] !== undefined) throw new UsageError('--broker-port is for the embedded broker, not with --broker');
  }
  if (values.prefix !== undefined) {
    if (broker === undefined || values['self-test']) throw new UsageError('--prefix goes with --broker (and not with --self-test)');
    try {
      prefixWords(values.prefix);
    } catch (e) {
      throw new UsageError(`--prefix: ${(e as Error).message}`);
    }
  }
  if (values.list) {
    for (const c of selectCases(cases)) console.log(`${c.id.padEnd(8)} ${c.title} (${c.clause})`);
    return 0;
  }
  const log = (l: string): void => console.log(l);
  if (values['self-test']) {
    const r = await selfTest({
      ...(values.report ? { reportDir: values.report } : {}),
      ...(cases ? { cases } : {}),
      ...declared,
      ...(broker ? { broker } : {}),
      timeoutMs: timeout * 1000,
      log,
    });
    const s = r.echo.summary;
    console.log(`echo peer: ${s.pass} pass, ${s.fail} fail, ${s.nonStrict} non-strict, ${s.informational} informational`);
    for (const v of r.variants)
      console.log(`variant ${v.variant}: ${v.missed.length === 0 ? 'caught' : 'NOT caught'} (${v.caught.join(', ')})`);
    console.log(r.ok ? 'self-test passed' : 'self-test FAILED');
    return r.ok ? 0 : 1;
  }
  if (!values.iut) {
    throw new UsageError('--iut is required (or --self-test)');
  }
  const port = values['broker-port'] === undefined ? DEFAULT_BROKER_PORT : Number(values['broker-port']);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError('--broker-port must be a port number (0-65535)');
  }
  try {
    assertEndpointId(values.iut, '--iut');
    const report = await runConformance({
      iut: values.iut,
      brokerPort: port,
      pkiDir: values.pki,
      ...(cases ? { cases } : {}),
      ...(suites.length > 0 ? { iutSuites: suites } : {}),
      ...(broker ? { broker: { url: broker, prefix: values.prefix ?? TOPIC_PREFIX } } : {}),
      timeoutMs: timeout * 1000,
      connectTimeoutMs: wait * 1000,
      log,
    });
    const files = await writeReports(values.report ?? 'conformance-report', report);
    const s = report.summary;
    console.log(
      `${report.cases.length} cases: ${s.pass} pass, ${s.fail} fail, ${s.nonStrict} non-strict, ${s.informational} informational (${(report.durationMs / 1000).toFixed(1)} s)`,
    );
    console.log(`reports: ${files.join(', ')}`);
    return s.fail === 0 ? 0 : 1;
  } catch (e) {
    if (isHopsafeError(e) && e.code === 'ERR_TIMEOUT') {
      console.error(`hopsafe conformance: ${e.message}`);
      return 3;
    }
    throw e;
  }
}
