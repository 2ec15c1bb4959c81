/**
 * Node's own TLS 1.3 with mutual certificate authentication, over any pair of Duplex streams
 * (in-memory, or tunnelled through a broker). Same test CA and P-256 identities as hopsafe.
 */
import { connect, createSecureContext, createServer, type SecureContext, type Server, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { TestPki } from '../src/testing/index.js';

export interface TlsContexts {
  readonly client: SecureContext;
  /** A tls.Server that never listens: Duplex streams are handed to it as 'connection's. */
  readonly server: Server;
  readonly serverName: string;
}

export function tlsContexts(pki: TestPki, clientId: string, serverId: string): TlsContexts {
  const ident = (id: string): { cert: string; key: string } => {
    const i = pki.identities[id];
    if (!i) throw new Error(`no identity ${id}`);
    return { cert: i.certificate, key: i.privateKey };
  };
  const base = { ca: pki.roots, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' } as const;
  return {
    client: createSecureContext({ ...base, ...ident(clientId) }),
    // Tickets off: every handshake is a full one, as hopsafe's are.
    server: createServer({ ...base, ...ident(serverId), requestCert: true, rejectUnauthorized: true, sessionTimeout: 0 }),
    serverName: serverId,
  };
}

export interface TlsConnection {
  readonly client: TLSSocket;
  readonly server: TLSSocket;
}

/**
 * Runs a mutual-auth TLS 1.3 handshake over (clientSide, serverSide); resolves when both ends
 * report a verified peer. The server's identity is checked against its certificate's CN (the
 * endpoint id), as hopsafe binds the id. One handshake at a time per `ctx` (the server side is
 * the tls.Server's next 'secureConnection').
 */
export function tlsHandshake(ctx: TlsContexts, clientSide: Duplex, serverSide: Duplex): Promise<TlsConnection> {
  return new Promise((resolve, reject) => {
    let server: TLSSocket | undefined;
    let client: TLSSocket | undefined;
    let n = 0;
    const cleanup = (): void => {
      ctx.server.off('secureConnection', onSecure);
      ctx.server.off('tlsClientError', onServerError);
    };
    const fail = (e: Error): void => {
      cleanup();
      client?.destroy();
      server?.destroy();
      reject(e);
    };
    const one = (): void => {
      if (++n === 2 && server && client) {
        cleanup();
        resolve({ client, server });
      }
    };
    const onSecure = (s: TLSSocket): void => {
      server = s;
      if (s.authorized) one();
      else fail(new Error(`client not authorized: ${String(s.authorizationError)}`));
    };
    const onServerError = (e: Error): void => fail(e);
    ctx.server.once('secureConnection', onSecure);
    ctx.server.once('tlsClientError', onServerError);
    ctx.server.emit('connection', serverSide);
    client = connect({
      socket: clientSide,
      secureContext: ctx.client,
      servername: ctx.serverName,
      rejectUnauthorized: true,
      checkServerIdentity: (_host, cert) =>
        cert.subject.CN === ctx.serverName ? undefined : new Error(`server CN ${String(cert.subject.CN)} is not ${ctx.serverName}`),
    });
    client.once('secureConnect', () =>
      client?.authorized ? one() : fail(new Error(`server not authorized: ${String(client?.authorizationError)}`)),
    );
    client.once('error', fail);
  });
}

/** The client end alone (for measurements that act on the client's own 'secureConnect'). */
export function tlsClient(ctx: TlsContexts, side: Duplex): TLSSocket {
  return connect({
    socket: side,
    secureContext: ctx.client,
    servername: ctx.serverName,
    rejectUnauthorized: true,
    checkServerIdentity: (_host, cert) =>
      cert.subject.CN === ctx.serverName ? undefined : new Error(`server CN ${String(cert.subject.CN)} is not ${ctx.serverName}`),
  });
}
