import { PermanentError } from "@taskflow/worker-sdk";
import { describe, expect, it } from "vitest";
import { makeContext } from "../../test/make-context.js";
import { sleep } from "./sleep.js";

describe("sleep", () => {
  it("waits the given milliseconds and says so", async () => {
    const started = performance.now();
    expect(await sleep(makeContext({ ms: 50 }))).toEqual({ slept_ms: 50 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
  });

  it("reports its progress at least every second", async () => {
    const reported: unknown[] = [];
    const ctx = makeContext({ ms: 2_100 }, { progress: (percent, details) => void reported.push({ percent, details }) });
    expect(await sleep(ctx)).toEqual({ slept_ms: 2_100 });
    expect(reported).toEqual([
      { percent: (1_000 * 100) / 2_100, details: { slept_ms: 1_000 } },
      { percent: (2_000 * 100) / 2_100, details: { slept_ms: 2_000 } },
      { percent: 100, details: { slept_ms: 2_100 } },
    ]);
  });

  it("accepts 0", async () => {
    expect(await sleep(makeContext({ ms: 0 }))).toEqual({ slept_ms: 0 });
  });

  it.each([[{}], [{ ms: -1 }], [{ ms: 3_600_001 }], [{ ms: 1.5 }], [{ ms: "10" }]])(
    "fails permanently on %j",
    async (payload) => {
      await expect(sleep(makeContext(payload))).rejects.toBeInstanceOf(PermanentError);
    },
  );

  it("stops at once when its signal aborts, with the signal's reason", async () => {
    const controller = new AbortController();
    const reason = new Error("cancelled");
    const running = sleep(makeContext({ ms: 3_600_000 }, { signal: controller.signal }));
    const started = performance.now();
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
