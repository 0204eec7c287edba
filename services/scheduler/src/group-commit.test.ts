import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { GroupCommit } from "./group-commit.js";

/** A run that records each group and resolves only when released, so tests decide the timing. */
function gatedRun(fail?: (items: string[]) => Error | undefined) {
  const groups: string[][] = [];
  const gates: (() => void)[] = [];
  const run = (key: string, items: string[]) => {
    groups.push(items.map((i) => `${key}:${i}`));
    return new Promise<string[]>((resolve, reject) => {
      gates.push(() => {
        const err = fail?.(items);
        if (err) reject(err);
        else resolve(items.map((i) => i.toUpperCase()));
      });
    });
  };
  const releaseAll = async () => {
    while (gates.length > 0) {
      gates.shift()!();
      await new Promise((r) => setImmediate(r));
    }
  };
  return { run, groups, releaseAll };
}

const opts = { maxInFlight: 1, maxItems: 4, maxWeight: 100, weight: (s: string) => s.length };

describe("GroupCommit", () => {
  it("sends a call at once when nothing is in flight, and merges the calls that arrive meanwhile", async () => {
    const g = gatedRun();
    const gc = new GroupCommit(g.run, opts);
    const first = gc.add("api", ["a"]);
    const later = [gc.add("api", ["b"]), gc.add("api", ["c", "d"])];
    expect(g.groups).toEqual([["api:a"]]);
    await g.releaseAll();
    expect(g.groups).toEqual([["api:a"], ["api:b", "api:c", "api:d"]]);
    expect(await first).toEqual(["A"]);
    expect(await Promise.all(later)).toEqual([["B"], ["C", "D"]]);
  });

  it("keeps a group within its item and weight limits, and a larger call alone", async () => {
    const g = gatedRun();
    const gc = new GroupCommit(g.run, opts);
    const calls = [gc.add("api", ["a"]), gc.add("api", ["b", "c", "d"]), gc.add("api", ["e", "f"]), gc.add("api", ["x".repeat(150)]), gc.add("api", ["g"])];
    await g.releaseAll();
    await Promise.all(calls);
    expect(g.groups.map((grp) => grp.length)).toEqual([1, 3, 2, 1, 1]);
  });

  it("never merges calls of different keys", async () => {
    const g = gatedRun();
    const gc = new GroupCommit(g.run, { ...opts, maxInFlight: 1 });
    const calls = [gc.add("api:a", ["1"]), gc.add("api:b", ["2"]), gc.add("api:a", ["3"]), gc.add("api:b", ["4"])];
    expect(g.groups).toEqual([["api:a:1"], ["api:b:2"]]);
    await g.releaseAll();
    expect(await Promise.all(calls)).toEqual([["1"], ["2"], ["3"], ["4"]]);
    expect(g.groups).toEqual([["api:a:1"], ["api:b:2"], ["api:a:3"], ["api:b:4"]]);
  });

  it("runs each member alone after a refusal one request may have caused, so only that caller fails", async () => {
    const bad = new ConnectError("bad payload", Code.InvalidArgument);
    const g = gatedRun((items) => (items.includes("bad") ? bad : undefined));
    const gc = new GroupCommit(g.run, opts);
    const first = gc.add("api", ["a"]);
    const good = gc.add("api", ["b"]);
    const refused = gc.add("api", ["bad"]).catch((e: unknown) => e);
    await g.releaseAll();
    expect(await first).toEqual(["A"]);
    expect(await good).toEqual(["B"]);
    expect(await refused).toBe(bad);
    expect(g.groups).toEqual([["api:a"], ["api:b", "api:bad"], ["api:b"], ["api:bad"]]);
  });

  it("fails every member of a group that failed for a reason of its own (unavailable), without running them again", async () => {
    const down = new ConnectError("history unavailable", Code.Unavailable);
    let failing = false;
    const g = gatedRun(() => (failing ? down : undefined));
    const gc = new GroupCommit(g.run, opts);
    const calls = [gc.add("api", ["a"]), gc.add("api", ["b"]), gc.add("api", ["c"])].map((p) => p.catch((e: unknown) => e));
    failing = true;
    await g.releaseAll();
    expect(await Promise.all(calls)).toEqual([down, down, down]);
    expect(g.groups).toEqual([["api:a"], ["api:b", "api:c"]]);
  });
});
