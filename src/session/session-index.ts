/**
 * [SPEC 5.9, 7.1] Which peers hold a session id. Ids are unique per peer, not per endpoint (the initiator picks
 * them), so two peers may hold the same one; the index only tells a redirected record (ERR_WRONG_PEER) from one of
 * an unknown session (ERR_UNKNOWN_SESSION). Adding the same (id, peer) twice is harmless.
 */
import type { SessionIndex } from './peer-types.js';

export function createSessionIndex(): SessionIndex & { readonly size: number; clear(): void } {
  const owners = new Map<string, Set<string>>();
  return {
    add(sid, peer) {
      const set = owners.get(sid);
      if (set) set.add(peer);
      else owners.set(sid, new Set([peer]));
    },
    remove(sid, peer) {
      const set = owners.get(sid);
      if (set?.delete(peer) && set.size === 0) owners.delete(sid);
    },
    heldByOther(sid, peer) {
      const set = owners.get(sid);
      return set !== undefined && (set.size > 1 || !set.has(peer));
    },
    get size() {
      return owners.size;
    },
    clear() {
      owners.clear();
    },
  };
}
