/** Messages between the groups benchmark parent (groups.ts) and its publisher / readers processes (groups-worker.ts). */

export type GroupsLane = 'plain' | 'group_nosig' | 'group_sig' | 'pairwise';

type Identity = { readonly certificate: string; readonly privateKey: string };

export type GroupsCommand =
  /** Publisher side of a lane: a plain client, or the endpoint `pub` (with the group of `members` for group lanes). */
  | {
      readonly cmd: 'setup-pub';
      readonly lane: GroupsLane;
      readonly url: string;
      readonly prefix: string;
      readonly identity: Identity;
      readonly roots: readonly string[];
      readonly members: readonly string[];
    }
  /** Reader side of a lane: one plain subscriber or one endpoint per identity (group lanes: joined to pub's group). */
  | {
      readonly cmd: 'setup-readers';
      readonly lane: GroupsLane;
      readonly url: string;
      readonly prefix: string;
      readonly identities: Readonly<Record<string, Identity>>;
      readonly roots: readonly string[];
    }
  /** Publisher, pairwise: one message to every reader (opens the sessions). */
  | { readonly cmd: 'prime'; readonly lane: GroupsLane }
  /** The measurement's flow control (groups-worker.ts): readers publish their progress on `topic`, the publisher reads it. */
  | { readonly cmd: 'progress'; readonly side: 'readers' | 'publisher'; readonly url: string; readonly topic: string }
  /** Readers: count from zero, note the hrtime of the `expect`-th delivery, restart the CPU clock. */
  | { readonly cmd: 'reset'; readonly lane: GroupsLane; readonly expect: number; readonly phase: number }
  /** Readers: deliveries since the reset, hrtime of the expected one (0 before), CPU µs since the reset. */
  | { readonly cmd: 'report'; readonly lane: GroupsLane }
  /** Publisher: `count` application messages of `size` bytes, `window` in flight; restarts the CPU clock. */
  | {
      readonly cmd: 'drive';
      readonly lane: GroupsLane;
      readonly count: number;
      readonly size: number;
      readonly window: number;
      readonly phase: number;
    }
  /** Publisher: CPU µs since the last drive began. */
  | { readonly cmd: 'cpu' }
  | { readonly cmd: 'teardown' };

export type GroupsReply =
  | {
      readonly ok: true;
      readonly count?: number;
      readonly lastNs?: number;
      readonly cpuUs?: number;
      readonly t0Ns?: number;
      readonly syncUs?: number;
    }
  | { readonly ok: false; readonly error: string };
