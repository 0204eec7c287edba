import { Redis } from "ioredis";
import pino from "pino";
import { randomKeyPrefix, testRedisUrl } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeaseWaiters } from "./lease-waiters.js";

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

describe("LeaseWaiters", () => {
  it("wakes a local waiter when its queue is announced", async () => {
    const w = a.register(["emails", "reports"]);
    const woke = w.wait(60_000, never);
    await a.announce(["reports"]);
    await woke;
    w.dispose();
    expect(a.count("emails")).toBe(0);
  });

  it("wakes a waiter on another replica through Redis pub/sub", async () => {
    const w = b.register(["cross"]);
    const woke = w.wait(60_000, never);
    await a.announce(["cross"]);
    await woke;
    w.dispose();
  });

  it("does not miss an announcement made between register and wait", async () => {
    const w = a.register(["race"]);
    await a.announce(["race"]);
    await w.wait(60_000, never);
    w.dispose();
  });

  it("does not wake waiters of other queues", async () => {
    const w = a.register(["quiet"]);
    await a.announce(["noisy"]);
    const started = Date.now();
    await w.wait(50, never);
    w.dispose();
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it("stops waiting when the caller aborts", async () => {
    const ac = new AbortController();
    const w = a.register(["abort"]);
    const woke = w.wait(60_000, ac.signal);
    ac.abort();
    await woke;
    w.dispose();
    expect(a.count("abort")).toBe(0);
  });
});
