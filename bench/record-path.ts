/**
 * Focused in-process measure of hopsafe's own CPU per message (issue 19), no broker, no copies by a transport:
 *   send    = endpoint.send → the sealed frame handed to the transport (+ the sender's handling of the ACKs that
 *             come back, which a real sender also pays for);
 *   receive = a record frame handed to the endpoint's onFrame → the application's 'message' event (+ the ACKs the
 *             receiver seals and hands to its transport).
 * The transport is a tap over a memory hub: the handshake goes over the hub, then frames are captured (send resolves
 * with a shared settled promise) and handed to the other endpoint's frame handler directly. Coalescing off.
 * CPU is process.cpuUsage (user + system) over many messages, in interleaved rounds; median and min–max are printed.
 *
 *   node --import tsx bench/record-path.ts [--mode confidentiality|integrity] [--size 256] [--n 20000] [--rounds 5]
 *     [--phase 512] [--no-bare]
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/record-path.ts --rounds 3
 */
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { parseArgs } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import { createEndpoint, type Endpoint } from '../src/endpoint/endpoint.js';
import { createMemoryHub } from '../src/bindings/memory.js';
import type { FrameHandler, Transport } from '../src/transport/transport.js';
import { createTestPki } from '../src/testing/index.js';
import type { Protection } from '../src/codec/tokens.js';

const RESOLVED: Promise<void> = Promise.resolve();

interface Tap extends Transport {
  handler: FrameHandler | undefined;
  capturing: boolean;
  captured: Uint8Array[];
}

function tap(inner: Transport): Tap {
  const t: Tap = {
    name: 'tap',
    maxFrameSize: inner.maxFrameSize,
    handler: undefined,
    capturing: false,
    captured: [],
    open(id, onFrame) {
      t.handler = onFrame;
      return inner.open(id, onFrame);
    },
    send(peer, bytes) {
      if (!t.capturing) return inner.send(peer, bytes);
      t.captured.push(bytes);
      return RESOLVED;
    },
    close: () => inner.close(),
  };
  return t;
}

const cpuUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

function stats(xs: number[]): { median: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)] as number, min: s[0] as number, max: s[s.length - 1] as number };
}

export interface PathResult {
  readonly send: { median: number; min: number; max: number; rounds: number[] };
  readonly receive: { median: number; min: number; max: number; rounds: number[] };
  /** JS heap bytes allocated per message (median of 32-message batches with no GC inside): independent of machine load. */
  readonly heapBytes: { readonly send: number; readonly receive: number };
  readonly bareSeal: { median: number; min: number; max: number; rounds: number[] };
  readonly bareOpen: { median: number; min: number; max: number; rounds: number[] };
}

/**
 * Bare primitive per message, same size, in the same round: [seal, open] = AES-128-GCM seal and open (one
 * createCipheriv / createDecipheriv each), or one HMAC-SHA256 over header + payload each way (integrity).
 */
function bareRound(mode: Protection, size: number, n: number): [number, number] {
  const key = Buffer.alloc(mode === 'integrity' ? 32 : 16, 7);
  const nonce = Buffer.alloc(12, 1);
  const payload = Buffer.alloc(size, 3);
  const aad = Buffer.alloc(13, 2);
  const macInput = Buffer.alloc(13 + size, 4);
  let ct: Buffer = Buffer.alloc(0);
  let tag: Buffer = Buffer.alloc(0);
  const t0 = cpuUs();
  for (let i = 0; i < n; i++) {
    if (mode === 'integrity') createHmac('sha256', key).update(macInput).digest();
    else {
      const c = createCipheriv('aes-128-gcm', key, nonce, { authTagLength: 16 });
      c.setAAD(aad);
      ct = c.update(payload);
      c.final();
      tag = c.getAuthTag();
    }
  }
  const t1 = cpuUs();
  for (let i = 0; i < n; i++) {
    if (mode === 'integrity') createHmac('sha256', key).update(macInput).digest();
    else {
      const d = createDecipheriv('aes-128-gcm', key, nonce, { authTagLength: 16 });
      d.setAuthTag(tag);
      d.setAAD(aad);
      d.update(ct);
      d.final();
    }
  }
  return [(t1 - t0) / n, (cpuUs() - t1) / n];
}

export async function measurePath(
  mode: Protection,
  size: number,
  n: number,
  rounds: number,
  bare = true,
  phase = 512,
): Promise<PathResult> {
  const pki = await createTestPki({ endpoints: [{ id: 'pa' }, { id: 'pb' }] });
  const hub = createMemoryHub();
  const ta = tap(hub.transport());
  const tb = tap(hub.transport());
  const mk = (id: 'pa' | 'pb', t: Transport): Promise<Endpoint> => {
    const identity = pki.identities[id];
    if (!identity) throw new Error(id);
    return createEndpoint({ id, identity, trust: { roots: pki.roots }, transport: t, protection: mode, coalesce: { maxRecords: 1 } });
  };
  const a = await mk('pa', ta);
  const b = await mk('pb', tb);
  let received = 0;
  b.on('message', () => {
    received++;
  });
  await a.send('pb', new Uint8Array(8));
  while (received < 1) await new Promise((r) => setTimeout(r, 5));
  // Let the first ACK travel over the hub, then capture everything.
  await new Promise((r) => setTimeout(r, 50));
  ta.capturing = tb.capturing = true;
  const ha = ta.handler as FrameHandler;
  const hb = tb.handler as FrameHandler;
  const payload = new Uint8Array(size).fill(0x5a);
  const BATCH = 32; // sends awaited together
  // Messages per measured phase (a multiple of 32: few cpuUsage calls); the receiver seals one ACK per acks.every = 32,
  // as at full rate. Frames of a phase are held until the receiver gets them (large frames: use a smaller phase).
  const PHASE = phase;

  const sendR: number[] = [];
  const recvR: number[] = [];
  const bareS: number[] = [];
  const bareO: number[] = [];
  const round = async (): Promise<void> => {
    let sendUs = 0;
    let recvUs = 0;
    for (let done = 0; done < n; done += PHASE) {
      const t0 = cpuUs();
      for (let b = 0; b < PHASE; b += BATCH) {
        const ps: Promise<void>[] = [];
        for (let i = 0; i < BATCH; i++) ps.push(a.send('pb', payload));
        await Promise.all(ps);
      }
      const t1 = cpuUs();
      const frames = ta.captured;
      ta.captured = [];
      for (const f of frames) void hb({ from: 'pa', bytes: f });
      const t2 = cpuUs();
      const acks = tb.captured;
      tb.captured = [];
      for (const f of acks) void ha({ from: 'pb', bytes: f });
      const t3 = cpuUs();
      sendUs += t1 - t0 + (t3 - t2);
      recvUs += t2 - t1;
    }
    sendR.push(sendUs / n);
    recvR.push(recvUs / n);
    if (bare) {
      const [bs, bo] = bareRound(mode, size, n);
      bareS.push(bs);
      bareO.push(bo);
    }
  };
  await round(); // warm-up, not counted
  sendR.length = recvR.length = bareS.length = bareO.length = 0;
  const before = received;
  for (let r = 0; r < rounds; r++) await round();
  // Allocation per message: the heap grows monotonically between collections, so a batch whose heap did not shrink
  // had no GC inside and its growth is what it allocated (minus the constant cost of reading the statistics).
  const heap = (): number => getHeapStatistics().used_heap_size;
  const empty = stats(Array.from({ length: 64 }, () => -heap() + heap()).filter((d) => d >= 0)).median;
  const hs: number[] = [];
  const hr: number[] = [];
  for (let k = 0; k < 400; k++) {
    const h0 = heap();
    const ps: Promise<void>[] = [];
    for (let i = 0; i < BATCH; i++) ps.push(a.send('pb', payload));
    await Promise.all(ps);
    const h1 = heap();
    const frames = ta.captured;
    ta.captured = [];
    for (const f of frames) void hb({ from: 'pa', bytes: f });
    const h2 = heap();
    const acks = tb.captured;
    tb.captured = [];
    for (const f of acks) void ha({ from: 'pb', bytes: f });
    const h3 = heap();
    if (h1 >= h0 && h2 >= h1 && h3 >= h2) {
      hs.push((h1 - h0 + h3 - h2 - 2 * empty) / BATCH);
      hr.push((h2 - h1 - empty) / BATCH);
    }
  }
  const extra = 400 * BATCH;
  if (received - before - extra !== rounds * Math.ceil(n / PHASE) * PHASE) throw new Error(`delivered ${received - before}`);
  if (a.stats().unconfirmed > 0) throw new Error('unconfirmed messages: ACKs did not flow');
  ta.capturing = tb.capturing = false;
  await a.close();
  await b.close();
  return {
    send: { ...stats(sendR), rounds: sendR },
    receive: { ...stats(recvR), rounds: recvR },
    heapBytes: { send: stats(hs).median, receive: stats(hr).median },
    bareSeal: { ...stats(bareS), rounds: bareS },
    bareOpen: { ...stats(bareO), rounds: bareO },
  };
}

const fmt = (s: { median: number; min: number; max: number }): string =>
  `${s.median.toFixed(2)} µs (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      mode: { type: 'string', default: 'confidentiality' },
      size: { type: 'string', default: '256' },
      n: { type: 'string', default: '20000' },
      rounds: { type: 'string', default: '5' },
      'no-bare': { type: 'boolean', default: false },
      phase: { type: 'string', default: '512' },
    },
  });
  const mode = values.mode as Protection;
  const r = await measurePath(mode, Number(values.size), Number(values.n), Number(values.rounds), !values['no-bare'], Number(values.phase));
  console.log(`${mode} ${values.size} B, ${values.n} msgs × ${values.rounds} rounds (median (min–max) CPU per message)`);
  console.log(`  send     ${fmt(r.send)}`);
  console.log(`  receive  ${fmt(r.receive)}`);
  console.log(
    `  heap     send ${Math.round(r.heapBytes.send)} B/msg, receive ${Math.round(r.heapBytes.receive)} B/msg (JS heap allocated)`,
  );
  if (r.bareSeal.rounds.length) {
    const what = mode === 'integrity' ? 'one HMAC-SHA256' : 'AES-128-GCM';
    console.log(`  bare seal ${fmt(r.bareSeal)}  (${what})`);
    console.log(`  bare open ${fmt(r.bareOpen)}`);
    const added = (xs: number[], ys: number[]) => stats(xs.map((x, i) => x - (ys[i] as number)));
    console.log(`  added, send    ${fmt(added(r.send.rounds, r.bareSeal.rounds))}  (send − bare seal, per round)`);
    console.log(`  added, receive ${fmt(added(r.receive.rounds, r.bareOpen.rounds))}  (receive − bare open, per round)`);
  }
}
