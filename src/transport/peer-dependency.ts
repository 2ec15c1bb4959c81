/**
 * The transports' client libraries (mqtt, amqplib, @xmpp/client, aedes, aedes-persistence, ws) are optional peer
 * dependencies: a subpath that needs one that is not installed fails when it is imported, with ERR_CONFIG naming the
 * package to install, instead of Node's "Cannot find package". No static import of such a package exists in src/:
 * a static import would fail while the module graph is linked, before any check could run.
 */
import { createRequire } from 'node:module';
import { HopsafeError } from '../errors/index.js';

const require = createRequire(import.meta.url);

function notFound(e: unknown, pkg: string): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') && String((e as Error).message).includes(pkg);
}

function missing(pkg: string, subpath: string, cause: unknown): HopsafeError {
  return new HopsafeError('ERR_CONFIG', `${subpath} needs the package "${pkg}", which is not installed: npm install ${pkg}`, { cause });
}

/** Loads a CommonJS peer dependency synchronously, when the subpath that needs it is imported. */
export function requirePeer<T>(pkg: string, subpath: string): T {
  try {
    return require(pkg) as T;
  } catch (e) {
    throw notFound(e, pkg) ? missing(pkg, subpath, e) : e;
  }
}

/**
 * Checks, when the subpath is imported, that an ES-module peer dependency is installed (without loading it: it is
 * imported with `importPeer` where it is first used). Node < 20.6 has no synchronous `import.meta.resolve`: there the
 * check happens at first use only.
 */
export function assertPeerInstalled(pkg: string, subpath: string): void {
  const resolve = (import.meta as { resolve?: (s: string) => string }).resolve;
  if (typeof resolve !== 'function') return;
  try {
    resolve(pkg);
  } catch (e) {
    throw notFound(e, pkg) ? missing(pkg, subpath, e) : e;
  }
}

/** Imports an ES-module peer dependency (`load` is `() => import('pkg')`, so that its types follow). */
export async function importPeer<T>(load: () => Promise<T>, pkg: string, subpath: string): Promise<T> {
  try {
    return await load();
  } catch (e) {
    throw notFound(e, pkg) ? missing(pkg, subpath, e) : e;
  }
}
