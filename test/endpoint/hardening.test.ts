/**
 * Issue 14's bounds at the endpoint (the I/O shell): what unauthenticated input may leave behind in the peer
 * table and the heap, inbound frame sizes, and the default protection. [SPEC 5.5, 5.7, 8]
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { cast, until, text } from '../support/endpoints.js';
import { toHex, utf8 } from '../../src/bytes/index.js';
import { createEndpoint } from '../../src/endpoint/endpoint.js';
import { forgeHandshakeAlert } from '../../src/adversary/index.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** The endpoint's peer table (private): its size is what the attack targets. */
const tableSize = (ep: object): number => (ep as { peers: Map<string, unknown> }).peers.size;

test('[SPEC 5.7] a flood of forged ids leaves the table and heap as they were; a never-seen genuine peer still gets through, and the endpoint can send to a new peer', async () => {
  const c = await cast(['cc', 'der-1', 'der-2']);
  try {
    const cc = c.eps.cc!;
    let rejected = 0;
    cc.removeAllListeners('reject'); // the harness keeps every event: count them instead
    cc.on('reject', () => rejected++);
    const base = heapAfterGc();
    const record = Uint8Array.of(0x13, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, ...new Uint8Array(16));
    const garbageInit = Uint8Array.of(0x11, 0x30, 0x03, 0x02, 0x01, 0x01);
    for (let i = 0; i < 100_000; i++) {
      const from = `forged-${i}`;
      void cc.onFrame({ from, bytes: i % 3 === 0 ? Uint8Array.of(0x13) : i % 3 === 1 ? record : garbageInit });
    }
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(tableSize(cc), 0, 'no entry for any forged sender');
    assert.equal(rejected, 100_000, 'each refused');
    const grown = heapAfterGc() - base;
    assert.ok(grown < 8 * 1024 * 1024, `heap grew by ${grown} bytes`);
    await c.eps['der-1']!.send('cc', utf8('genuine after the flood'));
    await until(() => c.inbox.cc!.length === 1);
    assert.equal(text(c.inbox.cc![0]!), 'genuine after the flood');
    await cc.send('der-2', utf8('to a new peer'));
    await until(() => c.inbox['der-2']!.length === 1);
  } finally {
    await c.close();
  }
});

test('[SPEC 8] oversized inbound frames are dropped by the endpoint before they are read (ERR_TOO_LARGE), leaving no state', async () => {
  const c = await cast(['cc', 'der-1']);
  try {
    const cc = c.eps.cc!;
    const big = new Uint8Array(1024 * 1024 + 1); // the memory transport's maxFrameSize is 1 MiB
    big[0] = 0x13;
    await cc.onFrame({ from: 'der-1', bytes: big });
    assert.equal(c.rejects.cc!.at(-1)?.code, 'ERR_TOO_LARGE');
    assert.equal(tableSize(cc), 0);
  } finally {
    await c.close();
  }
});

test('[SPEC 5.5] confidentiality endpoints never accept integrity by default: whoever initiates, their payloads never cross in clear', async () => {
  const c = await cast(['cc', 'der-1'], { handshakeTimeoutMs: 500, perEndpoint: { 'der-1': { protection: 'integrity' } } });
  const wire: string[] = [];
  c.hub.tap((f) => void wire.push(toHex(f.bytes)));
  try {
    // the integrity peer opens: cc refuses the mode
    const first = c.eps['der-1']!.send('cc', utf8('reading 1')).catch((e: unknown) => e);
    await until(() => c.rejects.cc!.some((r) => r.code === 'ERR_NEGOTIATION'));
    await first;
    // cc then sends a setpoint: it opens in confidentiality, der-1 (integrity only) refuses; nothing in clear
    const sent = await c.eps.cc!.send('der-1', utf8('setpoint P=3.0MW')).then(
      () => 'sent',
      (e: unknown) => String((e as { code?: string }).code),
    );
    assert.notEqual(sent, 'sent');
    assert.equal(c.eps.cc!.sessions().length, 0);
    assert.ok(!wire.some((h) => h.includes(toHex(utf8('setpoint P=3.0MW')))), 'the setpoint never crossed in clear');
  } finally {
    await c.close();
  }
});

test('[SPEC 5.6] a recorded HS_INIT replayed to a restarted responder delivers its early data nothing the second time', async () => {
  const c = await cast(['cc', 'der-1'], { protection: 'integrity' });
  const inits: Uint8Array[] = [];
  c.hub.tap((f) => void (f.bytes[0] === 0x11 && inits.push(f.bytes)));
  try {
    await c.eps['der-1']!.send('cc', utf8('open breaker 4'));
    await until(() => c.inbox.cc!.length === 1);
    await c.eps.cc!.close();
    await new Promise((r) => setTimeout(r, 20));
    // cc restarts (same id, same PKI, a new process as far as hopsafe knows) and the broker replays the capture
    const again = await createEndpoint({
      id: 'cc',
      identity: c.pki.identities.cc!,
      trust: { roots: c.pki.roots },
      transport: c.hub.transport(),
      protection: 'integrity',
    });
    const got: string[] = [];
    const codes: string[] = [];
    again.on('message', (m) => got.push(text(m)));
    again.on('reject', (r) => codes.push(r.code));
    await again.onFrame({ from: 'der-1', bytes: inits[0]! });
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(got, [], 'the command was not delivered a second time');
    assert.deepEqual(codes, ['ERR_STALE']);
    assert.equal(again.sessions().length, 0);
    await again.close();
  } finally {
    await c.close();
  }
});

test('[SPEC 3.6, 7.6] a forged ERR_UNKNOWN_SESSION right after 20 delivered commands: all 20 are confirmed, none reported', async () => {
  const c = await cast(['cc', 'der-1']);
  try {
    await c.eps.cc!.send('der-1', utf8('hello'));
    await until(() => c.inbox['der-1']!.length === 1);
    // the live session's id, from the endpoint's private table (as an intermediary reads it off the wire)
    const entry = (
      c.eps.cc as unknown as { peers: Map<string, { m?: { current?: { id: Uint8Array } }; session?: { id: Uint8Array } }> }
    ).peers.get('der-1')!;
    const sid = (entry.m?.current ?? entry.session)!.id;
    const unconfirmed: string[] = [];
    c.eps.cc!.on('unconfirmed', (u) => unconfirmed.push(u.code));
    const sends = Array.from({ length: 20 }, (_, i) =>
      c.eps.cc!.send('der-1', utf8(`cmd-${i}`), { confirm: true }).then(
        () => 'confirmed',
        (e: unknown) => String((e as { code?: string }).code),
      ),
    );
    await until(() => c.inbox['der-1']!.length === 21);
    await c.eps.cc!.onFrame({ from: 'der-1', bytes: forgeHandshakeAlert(sid, 'ERR_UNKNOWN_SESSION') });
    assert.deepEqual(await Promise.all(sends), Array(20).fill('confirmed'));
    assert.deepEqual(unconfirmed, []);
    assert.equal(c.eps.cc!.stats().handshakes.initiated, 1, 'no new handshake');
  } finally {
    await c.close();
  }
});

test('[SPEC 8.7, 7.6] a classify hook that throws refuses the message: the confirmed send rejects with ERR_FORBIDDEN at once', async () => {
  const c = await cast(['cc', 'der-1'], {
    perEndpoint: {
      cc: {
        policy: { default: 'allow', rules: [] },
        classify: (data) => {
          if (new TextDecoder().decode(data) === 'bad') throw new Error('classify failed');
          return { type: 'ok' };
        },
      },
    },
  });
  try {
    const t0 = Date.now();
    const r = await c.eps['der-1']!.send('cc', utf8('bad'), { confirm: true }).then(
      () => 'confirmed',
      (e: unknown) => String((e as { code?: string }).code),
    );
    assert.equal(r, 'ERR_FORBIDDEN');
    assert.ok(Date.now() - t0 < 5000, 'told promptly, not after the 30 s timeout');
    assert.equal(c.inbox.cc!.length, 0);
    assert.equal(await c.eps['der-1']!.send('cc', utf8('good'), { confirm: true }).then(() => 'confirmed'), 'confirmed');
  } finally {
    await c.close();
  }
});

test('[SPEC 7.6] a confirmed send the broker alters rejects with ERR_NOT_CONFIRMED as soon as the ACKs show the gap (acks.gapMs), not after the 30 s timeout', async () => {
  const c = await cast(['cc', 'der-1']);
  try {
    const der = c.eps['der-1']!;
    await der.send('cc', utf8('open'), { confirm: true }); // session up, first record acknowledged
    let n = 0;
    c.hub.tap((f) => {
      if (f.from !== 'der-1' || f.bytes[0] !== 0x13 || ++n !== 1) return undefined;
      const x = f.bytes.slice();
      x[x.length - 1] = (x[x.length - 1] ?? 0) ^ 1; // the tag of the first record after 'open'
      return x;
    });
    const t0 = Date.now();
    const outcome = (p: Promise<void>): Promise<string> =>
      p.then(
        () => 'confirmed',
        (e: unknown) => String((e as { code?: string }).code),
      );
    const r = await Promise.all(['tampered', 'after'].map((t) => outcome(der.send('cc', utf8(t), { confirm: true }))));
    assert.deepEqual(r, ['ERR_NOT_CONFIRMED', 'confirmed']);
    assert.ok(Date.now() - t0 < 5000, `told within acks.gapMs of the ACK, not after acks.timeoutMs (${Date.now() - t0} ms)`);
    assert.deepEqual(c.inbox.cc!.map(text), ['open', 'after']);
  } finally {
    await c.close();
  }
});
