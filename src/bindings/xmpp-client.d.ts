/**
 * The part of @xmpp/client (0.14, untyped JavaScript) that the XMPP binding uses. Internal: nothing
 * here is re-exported from a public module.
 */
declare module '@xmpp/client' {
  import type { EventEmitter } from 'node:events';

  export class Element {
    name: string;
    attrs: Record<string, string | undefined>;
    children: Array<Element | string>;
    is(name: string, xmlns?: string): boolean;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    getText(): string;
    toString(): string;
  }

  export interface JID {
    local: string;
    domain: string;
    resource: string;
    bare(): JID;
    toString(): string;
  }

  export interface ClientOptions {
    service?: string;
    domain?: string;
    username?: string;
    password?: string;
    resource?: string;
    lang?: string;
    timeout?: number;
    /** Custom authentication: pick the mechanism and call `authenticate`. */
    credentials?: (
      authenticate: (credentials: { username: string; password: string }, mechanism: string) => Promise<void>,
      mechanisms: string[],
      fast: unknown,
      entity: { isSecure(): boolean },
    ) => Promise<void>;
  }

  export interface Reconnect extends EventEmitter {
    delay: number;
    start(): void;
    stop(): void;
  }

  /** XEP-0198 stream management (used when the server offers it). Emits 'resumed', 'ack'(stanza), 'fail'(stanza). */
  export interface StreamManagement extends EventEmitter {
    enabled: boolean;
    /** `<enable/>` was sent on this stream (and `enabled` not yet known). */
    enableSent: boolean;
    timeout: number;
    requestAckInterval: number;
    requestAckDebounce: number;
    /** Stanzas sent on the managed stream and not yet acked by the server. */
    outbound_q: Array<{ stanza: Element; stamp: string }>;
  }

  export interface Client extends EventEmitter {
    streamManagement: StreamManagement;
    status: string;
    jid: JID | null;
    /** net.Socket / tls.TLSSocket for xmpp:// (pause/resume stop and restart reading); another object for WebSocket. */
    socket: (EventEmitter & { destroy(error?: Error): void; end(): void; pause?(): unknown; resume?(): unknown }) | null;
    reconnect: Reconnect;
    timeout: number;
    /** @xmpp/connection's hook: the options its transport's socket connects with (tls.connect for xmpps://). */
    socketParameters(service: string): Record<string, unknown> | undefined;
    start(): Promise<JID>;
    stop(): Promise<unknown>;
    send(element: Element): Promise<void>;
  }

  export function client(options?: ClientOptions): Client;
  export function xml(name: string, attrs?: Record<string, string | undefined> | null, ...children: Array<Element | string>): Element;
  export function jid(local: string, domain?: string, resource?: string): JID;
  export function jid(address: string): JID;
}
