/** What the demos show of a frame as the broker sees it. */

/**
 * The longest run of printable ASCII (≥ 16 bytes) in a frame — what anyone on the broker can read without a
 * key: the payload of an integrity-mode record; nothing of a confidentiality-mode one. A run holding JSON is
 * trimmed to its outermost braces (the HMAC tag that follows may start with printable bytes).
 */
export function readableText(bytes: Uint8Array): string | undefined {
  let best = '';
  let start = -1;
  for (let i = 0; i <= bytes.length; i++) {
    const b = bytes[i];
    const printable = b !== undefined && b >= 0x20 && b <= 0x7e;
    if (printable && start < 0) start = i;
    if (!printable && start >= 0) {
      if (i - start > best.length) best = String.fromCharCode(...bytes.subarray(start, i));
      start = -1;
    }
  }
  if (best.length < 16) return undefined;
  const open = best.indexOf('{');
  const close = best.lastIndexOf('}');
  return open >= 0 && close > open ? best.slice(open, close + 1) : best;
}
