/**
 * Adversary rules: which frames (selector) and what to do to them (action). [SPEC 1: the
 * intermediary can read, drop, delay, reorder, duplicate, alter, redirect, reflect and inject]
 */
import type { InterceptedFrame } from '../transport/interceptor.js';
import type { FrameTypeName, RegionName } from './regions.js';

/**
 * Which frames an {@link AdversaryRule} acts on: every field given must match (a rule without `match` takes every
 * frame). `from`/`to` are the ids the intermediary sees in the topic (SPEC 8.2), not authenticated ones.
 */
export interface FrameSelector {
  /** Only frames whose topic names this sender. */
  readonly from?: string;
  /** Only frames whose topic names this receiver. */
  readonly to?: string;
  /** Exact topic or a pattern (the hub's topics are `memory/{to}/{from}`). */
  readonly topic?: string | RegExp;
  /** Only frames of this type (or one of these), read from byte 0 (SPEC 3.1); a BATCH is one frame of type BATCH. */
  readonly type?: FrameTypeName | readonly FrameTypeName[];
  /** Only the n-th (1-based) frame(s) matching the fields above, counted per rule among the frames that reach it (after earlier rules). */
  readonly nth?: number | readonly number[];
  /** Hit a matching frame with this probability (seeded PRNG). */
  readonly probability?: number;
  /** Any further condition on the frame. */
  readonly where?: (frame: InterceptedFrame) => boolean;
}

/** Where a held or injected frame goes: `{ from, to }` as the receiver's transport will name them. */
export interface Route {
  readonly from: string;
  readonly to: string;
}

/** What an `inject` action's `make` function may use besides the frame it was triggered by. */
export interface InjectionContext {
  /** Last frames seen, per `${from}>${to}` and type (for splicing and replay by hand). */
  readonly seen: (from: string, to: string, type: FrameTypeName) => Uint8Array | undefined;
}

/**
 * What an {@link AdversaryRule} does to each frame it selects: one of the intermediary capabilities of SPEC 1 and
 * SPEC 12 (alter, truncate, extend, drop, duplicate, delay, replay, reorder, reflect, redirect, splice, inject,
 * downgrade, or only observe). Seeded choices (bit positions, random bytes) come from the adversary's PRNG.
 */
export type AdversaryAction =
  /** Flip `bits` bits (default 1) in `region` (default 'whole'): at `bit` (index inside the region, MSB first; negative counts from the end) or at seeded random positions. */
  | { readonly kind: 'flip'; readonly region?: RegionName; readonly bit?: number; readonly bits?: number; readonly tagLength?: number }
  /** Cut `by` bytes off the end (default 1), or keep the first `to` bytes. */
  | { readonly kind: 'truncate'; readonly by?: number; readonly to?: number }
  /** Append `bytes` (default: `length` seeded random bytes, default 1). */
  | { readonly kind: 'extend'; readonly bytes?: Uint8Array; readonly length?: number }
  /** Drop it: nobody receives it. */
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
      /** Makes the extra frame(s) from the frame that triggered the rule. */
      readonly make: (frame: InterceptedFrame, ctx: InjectionContext) => Uint8Array | readonly Uint8Array[];
      readonly position?: 'before' | 'after' | 'replace';
    }
  /** Any rewrite: return bytes to replace, null to drop, undefined to pass. */
  | {
      readonly kind: 'rewrite';
      /** Gets each selected frame's bytes; its result decides the frame's fate. */
      readonly fn: (bytes: Uint8Array, frame: InterceptedFrame) => Uint8Array | null | undefined;
    }
  /** [SPEC 5.5] Replace the suite list of a ClearToken1 (HS_INIT offer or HS_RESP selection), keeping its signature. */
  | { readonly kind: 'downgrade'; readonly suites: readonly number[] }
  /** Only count (and record) the frame. */
  | { readonly kind: 'observe' };

/**
 * [SPEC 12] One attack of an {@link Adversary}: the frames it selects (`match`) and what it does to them
 * (`action`). Rules run in order; each sees the frames the earlier ones let through.
 *
 * @example
 * ```ts
 * // flip one bit of the tag of the 3rd DATA record from alice to bob
 * const rule: AdversaryRule = { name: 'tamper', match: { from: 'alice', to: 'bob', type: 'DATA', nth: 3 }, action: { kind: 'flip', region: 'tag' } };
 * ```
 */
export interface AdversaryRule {
  /** Name in the log and for `hits(name)`. */
  readonly name?: string;
  /** Frames the rule acts on; omitted: every frame. */
  readonly match?: FrameSelector;
  /** What it does to each of them. */
  readonly action: AdversaryAction;
}
