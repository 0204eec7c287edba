import { Redis } from "ioredis";
import pino from "pino";
import { randomKeyPrefix, testRedisUrl } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeaseWaiters, type LeaseWaiter, type WaitEnd } from "./lease-waiters.js";

const logger = pino({ level: "silent" });
const prefix = randomKeyPrefix();
const connections: Redis[] = [];

async function connect(): Promise<Redis> {
  const r = new Redis(testRedisUrl(), { lazyConnect: true });
  await r.connect();
  connections.push(r);
  return r;
}

/** Two "replicas": each with its own publisher and subscriber connection. */
let a: LeaseWaiters;
let b: LeaseWaiters;

beforeAll(async () => {
  a = new LeaseWaiters(await connect(), await connect(), prefix, logger);
  b = new LeaseWaiters(await connect(), await connect(), prefix, logger);
  await Promise.all([a.start(), b.start()]);
});
afterAll(async () => {
  await Promise.all([a.close(), b.close()]);
  await Promise.all(connections.map((c) => c.quit()));
});

const never = new AbortController().signal;
const jobs = (queue: string, counts: Record<string, number>) => ({ queue, ready: new Map(Object.entries(counts)) });

/** Registers a waiter that has just tried to lease and found nothing. */
function idle(w: LeaseWaiters, queues: string[], types: string[] = [], want = 1): LeaseWaiter {
  const waiter = w.register({ queues, types, want });
  waiter.beginAttempt();
  waiter.endAttempt(0);
  return waiter;
}

/** How each waiter's wait ended within `ms`. */
const ends = (waiters: LeaseWaiter[], ms: number): Promise<WaitEnd[]> => Promise.all(waiters.map((w) => w.wait(ms, never)));

describe("LeaseWaiters", () => {
  it("wakes a local waiter when jobs of its queue are announced", async () => {
    const w = idle(a, ["emails", "reports"]);
    const woke = w.wait(60_000, never);
    await a.announce([jobs("reports", { "t.a": 1 })]);
    expect(await woke).toBe("woken");
    w.dispose();
    expect(a.count("emails")).toBe(0);
  });

  it("wakes a waiter on another replica through Redis pub/sub", async () => {
    const w = idle(b, ["cross"]);
    const woke = w.wait(60_000, never);
    await a.announce([jobs("cross", { "t.a": 1 })]);
    expect(await woke).toBe("woken");
    w.dispose();
  });

  it("does not miss jobs announced between its attempt and its wait", async () => {
    const w = a.register({ queues: ["race"], types: [], want: 1 });
    w.beginAttempt();
    await a.announce([jobs("race", { "t.a": 1 })]);
    w.endAttempt(0);
    expect(await w.wait(60_000, never)).toBe("woken");
    w.dispose();
  });

  it("does not wake waiters of other queues, nor of other job types", async () => {
    const otherQueue = idle(a, ["quiet"]);
    const otherType = idle(a, ["typed"], ["t.mine"]);
    await a.announce([jobs("noisy", { "t.a": 1 }), jobs("typed", { "t.theirs": 3 })]);
    expect(await ends([otherQueue, otherType], 100)).toEqual(["timeout", "timeout"]);
    otherQueue.dispose();
    otherType.dispose();
  });

  it("wakes as many waiters as the jobs that arrived need, oldest first, on each replica", async () => {
    const here = Array.from({ length: 10 }, () => idle(a, ["few"]));
    const there = Array.from({ length: 10 }, () => idle(b, ["few"]));
    await a.announce([jobs("few", { "t.a": 3 })]);
    // The other replica hears of them through Redis pub/sub, however long that takes here.
    expect(await ends(there.slice(0, 3), 10_000)).toEqual(Array(3).fill("woken"));
    // Each replica wakes its waiters in one go when it hears: the rest stay asleep.
    const [endsHere, endsThere] = await Promise.all([ends(here, 300), ends(there, 300)]);
    expect(endsHere).toEqual([...Array(3).fill("woken"), ...Array(7).fill("timeout")]);
    expect(endsThere).toEqual([...Array(3).fill("woken"), ...Array(7).fill("timeout")]);
    for (const w of [...here, ...there]) w.dispose();
  });

  it("counts what each waiter asks for: one waiter wanting ten covers ten jobs", async () => {
    const big = idle(a, ["bulk"], [], 10);
    const next = idle(a, ["bulk"], [], 10);
    await a.announce([jobs("bulk", { "t.a": 10 })]);
    expect(await ends([big, next], 200)).toEqual(["woken", "timeout"]);
    big.dispose();
    next.dispose();
  });

  it("passes a wake on when the woken waiter goes away without leasing", async () => {
    const first = idle(a, ["handoff"]);
    const second = idle(a, ["handoff"]);
    await a.announce([jobs("handoff", { "t.a": 1 })]);
    expect(await first.wait(1_000, never)).toBe("woken");
    expect(await second.wait(50, never)).toBe("timeout");
    // Its caller left before leasing: the job would otherwise wait for the next wait timeout.
    first.dispose();
    expect(await second.wait(1_000, never)).toBe("woken");
    second.dispose();
  });

  it("passes a wake on when the woken waiter leased all it wanted, since more may be ready", async () => {
    const first = idle(a, ["more"]);
    const second = idle(a, ["more"]);
    await a.announce([jobs("more", { "t.a": 1 })]);
    expect(await first.wait(1_000, never)).toBe("woken");
    first.beginAttempt();
    first.endAttempt(1);
    first.dispose();
    expect(await second.wait(1_000, never)).toBe("woken");
    second.dispose();
  });

  it("stops waiting when the caller aborts", async () => {
    const ac = new AbortController();
    const w = idle(a, ["abort"]);
    const woke = w.wait(60_000, ac.signal);
    ac.abort();
    expect(await woke).toBe("aborted");
    w.dispose();
    expect(a.count("abort")).toBe(0);
  });
});
