import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.js";

describe("loadConfig: reconciliation and Redis safety", () => {
  it("defaults to a 30 s period, a 60 s grace and no eviction allowed", () => {
    expect(loadConfig({})).toMatchObject({ reconcileIntervalMs: 30_000, reconcileGraceMs: 60_000, redisAllowEviction: false });
  });

  it("reads RECONCILE_INTERVAL_MS, RECONCILE_GRACE_MS and REDIS_ALLOW_EVICTION", () => {
    const c = loadConfig({ RECONCILE_INTERVAL_MS: "1000", RECONCILE_GRACE_MS: "0", REDIS_ALLOW_EVICTION: "true" });
    expect(c).toMatchObject({ reconcileIntervalMs: 1_000, reconcileGraceMs: 0, redisAllowEviction: true });
  });

  it("reports bad values of all three at once", () => {
    expect(() => loadConfig({ RECONCILE_INTERVAL_MS: "5", RECONCILE_GRACE_MS: "-1", REDIS_ALLOW_EVICTION: "yes" })).toThrow(
      /RECONCILE_INTERVAL_MS.*RECONCILE_GRACE_MS.*REDIS_ALLOW_EVICTION/s,
    );
  });
});
