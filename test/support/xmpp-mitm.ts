/**
 * A hostile XMPP server for tests: a man in the middle on a free loopback port, in front of a real (private) Prosody,
 * that relays a client's c2s stream and lets the test rewrite every complete top-level element the server sends
 * (stanzas and nonzas) before the client reads it. Plaintext c2s only: run the Prosody of test/support/prosody.ts
 * without `tls` (no STARTTLS offered); a `<proceed/>` (STARTTLS) fails the relay loudly instead of relaying
 * ciphertext. Client → server bytes are relayed as they are. [SPEC 8.4]
 *
 * The server → client stream is cut into its top-level units by a small scanner (Prosody escapes `<`, `>` and quotes in
 * attribute values and text and sends no comments, CDATA or processing instructions besides the XML declaration):
 * the stream header (`<stream:stream …>`, again after each stream restart) and whitespace pass at once, each element at
 * depth 1 is buffered until it is closed and then handed to `rewrite`.
 *
 * Like tcp-proxy.ts, the relay can cut every connection and refuse new ones (accepted and closed at once) until it is
 * restored: a client behind it goes offline and reconnects on a new stream when it is restored.
 */
import { connect, createServer, type Socket } from 'node:net';
import { xml, type Element } from '@xmpp/client';
import { freePort } from './services.js';
import { trackSockets } from './tcp-proxy.js';

/** What `rewrite` returns: undefined relays the element as the server sent it, a string or element is sent instead ('' drops it). */
export type MitmRewrite = (el: Element) => Element | string | undefined;

export interface XmppMitm {
  readonly port: number;
  /** `xmpp://127.0.0.1:{port}` */
  readonly service: string;
  /** Applied to each complete top-level element from the server; none: everything is relayed unchanged. */
  rewrite: MitmRewrite | undefined;
  /** Set when the relay saw something it cannot handle (STARTTLS, XML it does not scan): the test should fail. */
  readonly failure: string | undefined;
  /** Destroys every relayed connection; new ones are closed as soon as they are accepted, until `restore`. */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

interface ParserLike {
  on(event: 'element' | 'error', f: (x: Element & Error) => void): void;
  write(s: string): void;
}
const Parser = (xml as unknown as { Parser: new () => ParserLike }).Parser;

/** One top-level element parsed on its own (wrapped in a dummy root, as the client's stream is). */
function parseElement(raw: string): Element {
  const p = new Parser();
  let el: Element | undefined;
  let error: Error | undefined;
  p.on('element', (e) => (el = e));
  p.on('error', (e) => (error = e));
  p.write(`<mitm>${raw}</mitm>`);
  if (error !== undefined || el === undefined) throw error ?? new Error('no element');
  return el;
}

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;

/**
 * Splits the server's byte stream into top-level units and calls `unit(raw, isElement)` for each in order: raw bytes
 * to relay as they are (header, whitespace, closing tag) or one complete depth-1 element.
 */
export class StreamScanner {
  #buf: Buffer = Buffer.alloc(0);
  /** Bytes of #buf already scanned (all at depth ≥ 2 of the current element, or not yet relayed). */
  #pos = 0;
  #depth = 0;
  /** Start in #buf of the depth-1 element being read. */
  #start = -1;

  constructor(private readonly unit: (raw: Buffer, isElement: boolean) => void) {}

  write(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    for (;;) {
      const lt = this.#buf.indexOf(LT, this.#pos);
      if (lt < 0) break;
      const gt = this.#buf.indexOf(GT, lt);
      if (gt < 0) break;
      const second = this.#buf[lt + 1];
      const selfClosing = this.#buf[gt - 1] === SLASH;
      const head = this.#buf.subarray(lt, Math.min(gt + 1, lt + 16)).toString('latin1');
      this.#pos = gt + 1;
      if (second === 0x3f /* ? */) continue; // XML declaration: relayed with what follows
      if (second === 0x21 /* ! */) throw new Error('xmpp-mitm: comments and CDATA are not scanned');
      if (second === SLASH) {
        this.#depth--;
        if (this.#depth === 1) this.#emit(this.#start, gt + 1, true);
        else if (this.#depth <= 0) this.#emit(0, gt + 1, false); // </stream:stream>
        continue;
      }
      if (/^<stream:stream[\s>]/.test(head)) {
        // a stream header (the first, or after a restart): everything up to it goes now
        this.#depth = 1;
        this.#emit(0, gt + 1, false);
        continue;
      }
      if (this.#depth === 1) {
        this.#start = lt; // (the whitespace before it goes with it, raw)
        if (selfClosing) this.#emit(lt, gt + 1, true);
        else this.#depth = 2;
        continue;
      }
      if (!selfClosing) this.#depth++;
    }
    // between elements: what is scanned (and whitespace after it) goes now; a tag not complete yet waits for more
    if (this.#depth <= 1 && this.#start < 0) {
      const lt = this.#buf.indexOf(LT, this.#pos);
      const end = lt < 0 ? this.#buf.length : lt;
      if (end > 0) this.#emit(0, end, false);
    }
  }

  /** Hands over #buf[from, to) (everything before `from` first, as raw bytes) and drops it from the buffer. */
  #emit(from: number, to: number, isElement: boolean): void {
    if (from > 0) this.unit(this.#buf.subarray(0, from), false);
    this.unit(this.#buf.subarray(from, to), isElement);
    this.#buf = this.#buf.subarray(to);
    this.#pos = Math.max(0, this.#pos - to);
    this.#start = -1;
  }
}

export async function startXmppMitm(target: { host: string; port: number }): Promise<XmppMitm> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let refusing = false;
  let failure: string | undefined;
  const state: { rewrite: MitmRewrite | undefined } = { rewrite: undefined };
  const server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(target);
    trackSockets(sockets, client, upstream);
    client.pipe(upstream);
    const scanner = new StreamScanner((raw, isElement) => {
      if (!isElement) return void client.write(raw);
      const text = raw.toString('utf8');
      if (text.startsWith('<proceed')) {
        failure = 'the server offered STARTTLS and the client took it: the relay cannot read TLS';
        client.destroy();
        upstream.destroy();
        return;
      }
      const rewrite = state.rewrite;
      if (rewrite === undefined) return void client.write(raw);
      let out: Element | string | undefined;
      try {
        out = rewrite(parseElement(text));
      } catch (e) {
        failure = `rewrite failed: ${(e as Error).message}`;
        out = undefined;
      }
      if (out === undefined) return void client.write(raw);
      client.write(typeof out === 'string' ? out : out.toString());
    });
    upstream.on('data', (chunk: Buffer) => {
      try {
        scanner.write(chunk);
      } catch (e) {
        failure = (e as Error).message;
        client.destroy();
        upstream.destroy();
      }
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const cut = (): void => {
    refusing = true;
    for (const x of sockets) x.destroy();
    sockets.clear();
  };
  return {
    port,
    service: `xmpp://127.0.0.1:${port}`,
    get rewrite() {
      return state.rewrite;
    },
    set rewrite(f: MitmRewrite | undefined) {
      state.rewrite = f;
    },
    get failure() {
      return failure;
    },
    cut,
    restore: () => {
      refusing = false;
    },
    close: async () => {
      cut();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
