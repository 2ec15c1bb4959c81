/**
 * Adversary rules: which frames (selector) and what to do to them (action). [SPEC 1: the
 * intermediary can read, drop, delay, reorder, duplicate, alter, redirect, reflect and inject]
 */
import type { InterceptedFrame } from '../transport/interceptor.js';
import type { FrameTypeName, RegionName } from './regions.js';

export interface FrameSelector {
  readonly from?: string;
  readonly to?: string;
  /** Exact topic or a pattern (the hub's topics are `memory/{to}/{from}`). */
  readonly topic?: string | RegExp;
  readonly type?: FrameTypeName | readonly FrameTypeName[];
  /** Only the n-th (1-based) frame(s) matching the fields above, counted per rule among the frames that reach it (after earlier rules). */
  readonly nth?: number | readonly number[];
  /** Hit a matching frame with this probability (seeded PRNG). */
  readonly probability?: number;
  readonly where?: (frame: InterceptedFrame) => boolean;
}

/** Where a held or injected frame goes: `{ from, to }` as the receiver's transport will name them. */
export interface Route {
  readonly from: string;
  readonly to: string;
}

export interface InjectionContext {
  /** Last frames seen, per `${from}>${to}` and type (for splicing and replay by hand). */
  readonly seen: (from: string, to: string, type: FrameTypeName) => Uint8Array | undefined;
}

export type AdversaryAction =
  /** Flip `bits` bits (default 1) in `region` (default 'whole'): at `bit` (index inside the region, MSB first; negative counts from the end) or at seeded random positions. */
  | { readonly kind: 'flip'; readonly region?: RegionName; readonly bit?: number; readonly bits?: number; readonly tagLength?: number }
  /** Cut `by` bytes off the end (default 1), or keep the first `to` bytes. */
  | { readonly kind: 'truncate'; readonly by?: number; readonly to?: number }
  /** Append `bytes` (default: `length` seeded random bytes, default 1). */
  | { readonly kind: 'extend'; readonly bytes?: Uint8Array; readonly length?: number }
  | { readonly kind: 'drop' }
  /** Deliver `copies` extra copies right after the original (default 1). */
  | { readonly kind: 'duplicate'; readonly copies?: number }
  /** Withhold the frame; release it after `after` later frames on the same route, or on `release()` (default: only on demand). */
  | { readonly kind: 'delay'; readonly after?: number }
  /** Deliver it, and deliver a copy again after `after` later frames on the same route (default 1) or on `release()` when `after` is 0. */
  | { readonly kind: 'replay'; readonly after?: number }
  /** Swap with the next frame on the same route. */
  | { readonly kind: 'reorder' }
  /** Send it back to its sender as if its receiver had sent it. `keep` also delivers the original. */
  | { readonly kind: 'reflect'; readonly keep?: boolean }
  /** Deliver it to `to` instead (as from the original sender, or as from `as`). `keep` also delivers the original. */
  | { readonly kind: 'redirect'; readonly to: string; readonly as?: string; readonly keep?: boolean }
  /** Header of this frame + body of the last frame of the same type on the same route ('header'), or the other way round ('body'). */
  | { readonly kind: 'splice'; readonly keep: 'header' | 'body' }
  /** Extra frames made up by the adversary, delivered before/after the original or instead of it. */
  | {
      readonly kind: 'inject';
      readonly make: (frame: InterceptedFrame, ctx: InjectionContext) => Uint8Array | readonly Uint8Array[];
      readonly position?: 'before' | 'after' | 'replace';
    }
  /** Any rewrite: return bytes to replace, null to drop, undefined to pass. */
  | { readonly kind: 'rewrite'; readonly fn: (bytes: Uint8Array, frame: InterceptedFrame) => Uint8Array | null | undefined }
  /** [SPEC 5.5] Replace the suite list of a ClearToken1 (HS_INIT offer or HS_RESP selection), keeping its signature. */
  | { readonly kind: 'downgrade'; readonly suites: readonly number[] }
  /** Only count (and record) the frame. */
  | { readonly kind: 'observe' };

export interface AdversaryRule {
  /** Name in the log and for `hits(name)`. */
  readonly name?: string;
  readonly match?: FrameSelector;
  readonly action: AdversaryAction;
}
