/**
 * What a conformance case is, what it gets to run with, and how it reaches its outcome. [SPEC Annex C.3]
 */
import { toHex, utf8 } from '../bytes/index.js';
import type { Suite } from '../crypto/suites.js';
import type { Protection } from '../codec/tokens.js';
import type { LocalIdentity } from '../pki/types.js';
import { KIT_ID_PREFIX } from './contract.js';
import type { BrokenKind, KitPki } from './kit-pki.js';
import { KitParty, type KitEnv, type PartyOptions } from './party.js';
import type { Wire, WireEvent } from './wire.js';

export type Outcome = 'pass' | 'fail' | 'non-strict' | 'informational';

export interface CaseResult {
  readonly outcome: Outcome;
  readonly reason: string;
}

export interface ConformanceCase {
  /** `G.S.N` */
  readonly id: string;
  readonly title: string;
  /** The SPEC clause(s) it tests, e.g. "SPEC 7.4". */
  readonly clause: string;
  run(env: CaseEnv): Promise<CaseResult>;
}

export interface CaseReport extends CaseResult {
  readonly id: string;
  readonly group: string;
  readonly title: string;
  readonly clause: string;
  readonly durationMs: number;
  readonly transcript: readonly WireEvent[];
}

export const GROUPS: Record<string, string> = {
  '1': 'Handshake, IUT responds',
  '2': 'Handshake, IUT initiates',
  '3': 'Negotiation',
  '4': 'Freshness',
  '5': 'Certificates',
  '6': 'Records',
  '7': 'Key update',
  '8': 'Acknowledgements',
  '9': 'BATCH frames',
  '10': 'Early data',
  '11': 'HS_ALERT',
  '12': 'Limits',
  '13': 'Fuzz',
  '14': 'Groups, IUT is a member',
};

/** Knowledge shared between cases of one run (e.g. which optional suites the IUT implements). */
export interface RunState {
  readonly supportedSuites: Set<number>;
  /**
   * [Annex C.1] The suites the IUT enables, in its preference order, as declared to the kit (`--suite`), or
   * undefined when not declared. A declared suite must work (a refusal fails); an undeclared optional one is still
   * tried and reported informational when the IUT refuses it.
   */
  readonly iutSuites?: readonly Suite[];
  /** When the first handshake with the IUT completed: tokens stamped later are after the IUT's start (SPEC 5.6). */
  readonly firstHandshakeAt: number;
}

export class CaseEnv {
  readonly parties: KitParty[] = [];
  readonly notes: string[] = [];
  readonly kitEnv: KitEnv;

  constructor(
    readonly caseId: string,
    readonly wire: Wire,
    readonly kit: KitPki,
    readonly timeoutMs: number,
    readonly settleMs: number,
    readonly state: RunState,
  ) {
    this.kitEnv = { wire, provider: kit.provider, verifier: kit.trust, iut: kit.iut, timeoutMs };
  }

  get iut(): string {
    return this.kit.iut;
  }

  /** The kit id of this case (`conf-6-1-1`), or one of its siblings (`conf-6-1-1-b`). */
  idFor(suffix?: string): string {
    return `${KIT_ID_PREFIX}${this.caseId.replace(/\./g, '-')}${suffix ? `-${suffix}` : ''}`;
  }

  /** A kit party with a genuine identity. */
  party(suffix?: string, o: PartyOptions = {}): KitParty {
    return this.partyWith(this.kit.identity(this.idFor(suffix)), o);
  }

  /** A kit party presenting a broken certificate (certificate cases). */
  brokenParty(kind: BrokenKind, suffix?: string, o: PartyOptions = {}): KitParty {
    return this.partyWith(this.kit.broken(kind, this.idFor(suffix)), o);
  }

  partyWith(identity: LocalIdentity, o: PartyOptions = {}): KitParty {
    const p = new KitParty(this.kitEnv, identity, o);
    this.parties.push(p);
    return p;
  }

  /** A party with an established session (or throws: the IUT did not answer a genuine handshake). */
  async connected(suffix?: string, o: PartyOptions & { suites?: readonly Suite[]; protection?: Protection } = {}): Promise<KitParty> {
    const p = this.party(suffix, o);
    const s = await p.connect({ ...(o.suites ? { suites: o.suites } : {}), ...(o.protection ? { protection: o.protection } : {}) });
    if (!s) throw new CaseFailure('the IUT did not answer a genuine HS_INIT');
    return p;
  }

  /** A payload unique to this case. */
  payload(label: string): Uint8Array {
    return utf8(`${this.caseId} ${label} ${toHex(this.kit.provider.randomBytes(6))}`);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
  }

  /** Waits the settle time: for what must not come. */
  settle(): Promise<void> {
    return this.sleep(this.settleMs);
  }

  close(): void {
    for (const p of this.parties) p.close();
  }
}

/** Thrown by a case to end with `fail` (a precondition the IUT broke). */
export class CaseFailure extends Error {}

/** Accumulates findings; the worst decides the outcome. */
export class Verdict {
  private readonly fails: string[] = [];
  private readonly weak: string[] = [];
  private readonly info: string[] = [];
  private readonly ok: string[] = [];

  /** Records a failure when `bad` holds. */
  fail(bad: boolean, what: string): this {
    if (bad) this.fails.push(what);
    return this;
  }
  nonStrict(bad: boolean, what: string): this {
    if (bad) this.weak.push(what);
    return this;
  }
  informational(what: string): this {
    this.info.push(what);
    return this;
  }
  pass(what: string): this {
    this.ok.push(what);
    return this;
  }
  get failed(): boolean {
    return this.fails.length > 0;
  }
  result(): CaseResult {
    if (this.fails.length > 0) return { outcome: 'fail', reason: this.fails.join('; ') };
    if (this.info.length > 0) return { outcome: 'informational', reason: [...this.info, ...this.weak].join('; ') };
    if (this.weak.length > 0) return { outcome: 'non-strict', reason: this.weak.join('; ') };
    return { outcome: 'pass', reason: this.ok.join('; ') || 'as required' };
  }
}

export function defineCase(id: string, title: string, clause: string, run: (env: CaseEnv) => Promise<CaseResult>): ConformanceCase {
  return { id, title, clause, run };
}
