/** Events an endpoint emits. A bad frame is never thrown into the transport: it becomes a `reject`. */
import { EventEmitter } from 'node:events';
import type { ErrorCode } from '../errors/index.js';
import type { RoleAssignment } from '../pki/types.js';

export interface MessageEvent {
  readonly from: string;
  readonly data: Uint8Array;
  /** Role names of the sender, validated at handshake (IEC 62351-8). */
  readonly roles: readonly string[];
  readonly roleAssignments: readonly RoleAssignment[];
}

export interface RejectEvent {
  readonly code: ErrorCode;
  /** Transport-level sender when known (not authenticated for refused frames). */
  readonly from?: string;
  readonly message?: string;
}

export interface SessionEvent {
  readonly peer: string;
  readonly suite: string;
  readonly protection: 'integrity' | 'confidentiality';
  readonly role: 'initiator' | 'responder';
}

export interface KeyUpdateEvent {
  readonly peer: string;
  readonly direction: 'send' | 'receive';
  readonly epoch: number;
}

export interface SessionClosedEvent {
  readonly peer: string;
  readonly reason: ErrorCode;
}

export interface EndpointEvents {
  message: [MessageEvent];
  reject: [RejectEvent];
  session: [SessionEvent];
  'key-update': [KeyUpdateEvent];
  'session-closed': [SessionClosedEvent];
}

/** EventEmitter with typed `on`/`once`/`off`/`emit` for EndpointEvents. */
export class TypedEmitter extends EventEmitter {
  override on<K extends keyof EndpointEvents>(event: K, listener: (...args: EndpointEvents[K]) => void): this {
    return super.on(event, listener as (...a: unknown[]) => void);
  }
  override once<K extends keyof EndpointEvents>(event: K, listener: (...args: EndpointEvents[K]) => void): this {
    return super.once(event, listener as (...a: unknown[]) => void);
  }
  override off<K extends keyof EndpointEvents>(event: K, listener: (...args: EndpointEvents[K]) => void): this {
    return super.off(event, listener as (...a: unknown[]) => void);
  }
  override emit<K extends keyof EndpointEvents>(event: K, ...args: EndpointEvents[K]): boolean {
    return super.emit(event, ...args);
  }
}
