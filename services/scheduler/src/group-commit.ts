import { Code, ConnectError } from "@connectrpc/connect";

/** Limits of {@link GroupCommit}. */
export interface GroupCommitOptions<T> {
  /** Groups of one key committing at once; later arrivals wait and go together. */
  maxInFlight: number;
  /** Most items in one group. */
  maxItems: number;
  /** Most total weight (e.g. payload bytes) in one group; a single larger member goes alone. */
  maxWeight: number;
  weight(item: T): number;
}

interface Member<T, R> {
  items: readonly T[];
  weight: number;
  resolve(results: R[]): void;
  reject(err: unknown): void;
}

interface Lane<T, R> {
  waiting: Member<T, R>[];
  inFlight: number;
}

/** Errors that belong to one caller's request, not to the group: the members then run alone. */
const CALLER_CODES = new Set([Code.InvalidArgument, Code.AlreadyExists, Code.FailedPrecondition, Code.ResourceExhausted]);

/**
 * Group commit: the items of concurrent calls with the same key (e.g. the submitting actor) are
 * committed by one `run`, so that a burst of single-job submits costs one history insert and one
 * PostgreSQL commit instead of one per call. A call goes at once while fewer than `maxInFlight`
 * groups of its key are committing, so an idle service adds no wait; otherwise it joins the
 * next group, sent as soon as one in flight ends.
 *
 * `run` must commit all of a group or nothing (one transaction). When it fails with an error
 * that one member's request may have caused (invalid argument, already exists, ...), each
 * member runs again alone, so it gets its own answer and no caller fails for another.
 */
export class GroupCommit<T, R> {
  private readonly lanes = new Map<string, Lane<T, R>>();

  constructor(
    private readonly run: (key: string, items: T[]) => Promise<R[]>,
    private readonly opts: GroupCommitOptions<T>,
  ) {}

  /** Commits `items` (in a group or alone) and resolves with their results, in order. */
  add(key: string, items: readonly T[]): Promise<R[]> {
    const lane = this.laneOf(key);
    return new Promise<R[]>((resolve, reject) => {
      lane.waiting.push({ items, weight: items.reduce((sum, i) => sum + this.opts.weight(i), 0), resolve, reject });
      this.pump(key, lane);
    });
  }

  private laneOf(key: string): Lane<T, R> {
    let lane = this.lanes.get(key);
    if (lane === undefined) {
      lane = { waiting: [], inFlight: 0 };
      this.lanes.set(key, lane);
    }
    return lane;
  }

  private pump(key: string, lane: Lane<T, R>): void {
    while (lane.inFlight < this.opts.maxInFlight && lane.waiting.length > 0) {
      const group = this.take(lane);
      lane.inFlight += 1;
      void this.commit(key, group).finally(() => {
        lane.inFlight -= 1;
        if (lane.inFlight === 0 && lane.waiting.length === 0) this.lanes.delete(key);
        else this.pump(key, lane);
      });
    }
  }

  /** The longest run of waiting members, oldest first, within the limits (at least one). */
  private take(lane: Lane<T, R>): Member<T, R>[] {
    const group = [lane.waiting.shift()!];
    let items = group[0]!.items.length;
    let weight = group[0]!.weight;
    while (lane.waiting.length > 0) {
      const next = lane.waiting[0]!;
      if (items + next.items.length > this.opts.maxItems || weight + next.weight > this.opts.maxWeight) break;
      group.push(lane.waiting.shift()!);
      items += next.items.length;
      weight += next.weight;
    }
    return group;
  }

  private async commit(key: string, group: Member<T, R>[]): Promise<void> {
    try {
      const results = await this.run(key, group.flatMap((m) => m.items));
      let at = 0;
      for (const m of group) {
        m.resolve(results.slice(at, at + m.items.length));
        at += m.items.length;
      }
    } catch (err) {
      if (group.length === 1 || !CALLER_CODES.has(ConnectError.from(err).code)) {
        for (const m of group) m.reject(err);
        return;
      }
      // Nothing of the group was committed: each member alone gets the answer to its own request.
      await Promise.all(group.map((m) => this.run(key, [...m.items]).then((r) => m.resolve(r), (e: unknown) => m.reject(e))));
    }
  }
}
