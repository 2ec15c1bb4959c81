/**
 * A broker URL given on the command line (`hopsafe peer --url`), checked before anything connects: a known scheme,
 * a host, a port in 1–65535 when one is given. A bad one is a usage error naming the option — not a client
 * library's stack trace later (`RangeError: Port should be >= 0 and < 65536`), and not a silent fallback to
 * localhost (`mqtt://` has no host) or to the default port (`:0`).
 */
import { UsageError } from './usage.js';

/** Parses `value` as a URL of one of `schemes`; throws UsageError naming `flag`. */
export function brokerUrlOption(flag: string, value: string, schemes: readonly string[]): URL {
  const bad = (why: string): UsageError => new UsageError(`${flag} ${JSON.stringify(value)}: ${why}`);
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value);
  if (!m) throw bad(`not a URL (expected SCHEME://host[:port], SCHEME one of ${schemes.join(', ')})`);
  const scheme = m[1]!.toLowerCase();
  if (!schemes.includes(scheme)) throw bad(`unsupported scheme ${scheme}:// (one of ${schemes.join(', ')})`);
  // the port is checked on the text: WHATWG URL refuses 65536+ with a generic message and turns ':0' into a port 0
  const authority = value.slice(m[0].length).split(/[/?#]/, 1)[0] ?? '';
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  const portText = /:(\d*)$/.exec(hostPort.replace(/^\[[^\]]*\]/, ''))?.[1];
  if (portText !== undefined) {
    const port = portText === '' ? NaN : Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw bad(`port must be 1-65535${portText === '' ? '' : ` (got ${portText})`}`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw bad('not a valid URL');
  }
  if (url.hostname === '') throw bad('no host (e.g. 127.0.0.1)');
  return url;
}
