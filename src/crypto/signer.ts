/** [SPEC 10.6] Calling an identity's asynchronous signer (a key held outside this program). */
import { HopsafeError, isHopsafeError } from '../errors/index.js';
import type { AsyncSigner } from './provider.js';

/** [SPEC 10.6] An asynchronous signer's signature; a failure that is not a HopsafeError is ERR_CONFIG (the local key cannot sign). */
export async function signWith(signer: AsyncSigner, data: Uint8Array): Promise<Uint8Array> {
  let sig: unknown;
  try {
    sig = await signer.sign(data);
  } catch (e) {
    if (isHopsafeError(e)) throw e;
    throw new HopsafeError('ERR_CONFIG', `identity signer failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
  if (!(sig instanceof Uint8Array) || sig.length === 0) throw new HopsafeError('ERR_CONFIG', 'identity signer returned no signature bytes');
  return sig;
}
