/**
 * [SPEC 5.9, 7.1] Which peers hold a session id. Ids are unique per peer, not per endpoint (the initiator picks
 * them), so two peers may hold the same one; the index only tells a redirected record (ERR_WRONG_PEER) from one of
 * an unknown session (ERR_UNKNOWN_SESSION). Adding the same (id, peer) twice is harmless. One holder (the normal
 * case) is kept as a plain string: a Set per session would cost more than the rest of the entry.
 */
import type { SessionIndex } from './peer-types.js';

export function createSessionIndex(): SessionIndex & { readonly size: number; clear(): void } {
  const owners = new Map<string, string | Set<string>>();
  return {
    add(sid, peer) {
      const held = owners.get(sid);
      if (held === undefined) owners.set(sid, peer);
      else if (typeof held === 'string') {
        if (held !== peer) owners.set(sid, new Set([held, peer]));
      } else held.add(peer);
    },
    remove(sid, peer) {
      const held = owners.get(sid);
      if (held === undefined) return;
      if (typeof held === 'string') {
        if (held === peer) owners.delete(sid);
        return;
      }
      held.delete(peer);
      const [only, ...rest] = held;
      if (only === undefined) owners.delete(sid);
      else if (rest.length === 0) owners.set(sid, only);
    },
    heldByOther(sid, peer) {
      const held = owners.get(sid);
      if (held === undefined) return false;
      return typeof held === 'string' ? held !== peer : held.size > 1 || !held.has(peer);
    },
    get size() {
      return owners.size;
    },
    clear() {
      owners.clear();
    },
  };
}
