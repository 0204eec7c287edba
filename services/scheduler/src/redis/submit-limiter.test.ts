import { durationMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { QuotaFailureSchema, RetryInfoSchema } from "@taskflow/proto/gen/google/rpc/error_details_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisFixture, type RedisFixture } from "../../test/redis-fixture.js";
import type { SubmitRates } from "../submit-rate.js";
import { submitRateKey } from "./keys.js";
import { SubmitLimiter } from "./submit-limiter.js";

let f: RedisFixture;
beforeAll(async () => {
  f = await createRedisFixture();
});
afterAll(async () => {
  await f.close();
});

/** 5 jobs per second in bursts of 10 for everyone, unless overridden. */
const RATES: SubmitRates = {
  default: { ratePerS: 5, burst: 10 },
  overrides: new Map([
    ["exempt", { ratePerS: 0, burst: 1 }],
    ["thirds", { ratePerS: 3, burst: 3 }],
  ]),
};

/** A limiter on a key prefix of its own whose clock the test sets (ms since the Unix epoch). */
function limiterAt(startMs = 1_750_000_000_000): { limiter: SubmitLimiter; clock: { ms: number }; prefix: string } {
  const clock = { ms: startMs };
  const prefix = `${f.prefix}-${Math.random().toString(36).slice(2, 8)}`;
  const limiter = new SubmitLimiter(f.redis, prefix, RATES, { checkKeys: true, now: () => clock.ms });
  return { limiter, clock, prefix };
}

/** "ok", or the refusal's code and retry delay in ms (-1 without RetryInfo). */
async function outcome(call: Promise<void>): Promise<"ok" | { code: Code; retryMs: number }> {
  try {
    await call;
    return "ok";
  } catch (err) {
    const ce = ConnectError.from(err);
    const [retry] = ce.findDetails(RetryInfoSchema);
    return { code: ce.code, retryMs: retry?.retryDelay === undefined ? -1 : durationMs(retry.retryDelay) };
  }
}

const refused = (retryMs: number) => ({ code: Code.ResourceExhausted, retryMs });

describe("SubmitLimiter", () => {
  it("grants a full bucket at once, then one token per interval", async () => {
    const { limiter, clock } = limiterAt();
    expect(await outcome(limiter.take("a", 10))).toBe("ok");
    expect(await outcome(limiter.take("a", 1))).toEqual(refused(200));
    clock.ms += 199;
    expect(await outcome(limiter.take("a", 1))).toEqual(refused(1));
    clock.ms += 1;
    expect(await outcome(limiter.take("a", 1))).toBe("ok");
    expect(await outcome(limiter.take("a", 1))).toEqual(refused(200));
    clock.ms += 1_000;
    expect(await outcome(limiter.take("a", 5))).toBe("ok");
    expect(await outcome(limiter.take("a", 1))).toEqual(refused(200));
  });

  it("refills no further than the burst, however long the identity was idle", async () => {
    const { limiter, clock } = limiterAt();
    expect(await outcome(limiter.take("a", 10))).toBe("ok");
    clock.ms += 3_600_000;
    expect(await outcome(limiter.take("a", 10))).toBe("ok");
    expect(await outcome(limiter.take("a", 1))).toEqual(refused(200));
  });

  it("takes nothing from a refused call, and names the wait for the whole batch", async () => {
    const { limiter } = limiterAt();
    expect(await outcome(limiter.take("a", 8))).toBe("ok");
    // 2 tokens left: 5 need 3 more, 600 ms away.
    expect(await outcome(limiter.take("a", 5))).toEqual(refused(600));
    expect(await outcome(limiter.take("a", 2))).toBe("ok");
    expect(await outcome(limiter.take("a", 1))).toEqual(refused(200));
  });

  it("keeps one bucket per identity", async () => {
    const { limiter } = limiterAt();
    expect(await outcome(limiter.take("a", 10))).toBe("ok");
    expect(await outcome(limiter.take("a", 1))).toEqual(refused(200));
    expect(await outcome(limiter.take("b", 10))).toBe("ok");
    expect(await outcome(limiter.take("", 10))).toBe("ok");
    expect(await outcome(limiter.take("", 1))).toEqual(refused(200));
  });

  it("rounds fractional intervals without granting or withholding a token", async () => {
    const { limiter, clock } = limiterAt();
    // 3 per second: a token every 333.33 ms.
    expect(await outcome(limiter.take("thirds", 3))).toBe("ok");
    clock.ms += 333;
    expect(await outcome(limiter.take("thirds", 1))).toEqual(refused(1));
    clock.ms += 1;
    expect(await outcome(limiter.take("thirds", 1))).toBe("ok");
    clock.ms += 666;
    expect(await outcome(limiter.take("thirds", 2))).toBe("ok");
    expect(await outcome(limiter.take("thirds", 1))).toEqual(refused(334));
  });

  it("refuses a batch larger than the bucket outright, without touching Redis", async () => {
    const { limiter, prefix } = limiterAt();
    expect(await outcome(limiter.take("a", 11))).toEqual({ code: Code.InvalidArgument, retryMs: -1 });
    await expect(limiter.take("a", 11)).rejects.toThrow(/11 jobs exceed the submit burst of 10 jobs of a; submit at most 10 per call/);
    expect(await f.redis.exists(submitRateKey(prefix, "a"))).toBe(0);
  });

  it("leaves unlimited identities alone and stores nothing for them", async () => {
    const { limiter, prefix } = limiterAt();
    for (let i = 0; i < 5; i += 1) expect(await outcome(limiter.take("exempt", 1_000))).toBe("ok");
    expect(await f.redis.exists(submitRateKey(prefix, "exempt"))).toBe(0);
  });

  it("lets a bucket's key expire once it would be full again", async () => {
    const { limiter, prefix } = limiterAt();
    await limiter.take("a", 4);
    // 4 tokens at 200 ms each: full again in 800 ms.
    const ttl = await f.redis.pttl(submitRateKey(prefix, "a"));
    expect(ttl).toBeGreaterThan(700);
    expect(ttl).toBeLessThanOrEqual(800);
  });

  it("names the limit in the refusal and tells plain HTTP callers when to come back", async () => {
    const { limiter } = limiterAt();
    await limiter.take("billing", 10);
    const err = await limiter.take("billing", 3).then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(err?.code).toBe(Code.ResourceExhausted);
    expect(err?.rawMessage).toBe("submit rate limit of identity billing (5 jobs per second, bursts of 10) exceeded by 3 jobs; retry in 600 ms");
    expect(err?.metadata.get("retry-after")).toBe("1");
    const [quota] = err!.findDetails(QuotaFailureSchema);
    expect(quota?.violations).toEqual([expect.objectContaining({ subject: "identity:billing", description: "submit rate limit: 5 jobs per second, bursts of 10" })]);
  });
});
