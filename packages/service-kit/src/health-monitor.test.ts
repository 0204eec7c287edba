import { HealthCheckResponse_ServingStatus as ServingStatus } from "@taskflow/proto/gen/grpc/health/v1/health_pb";
import { describe, expect, it } from "vitest";
import { captureLogs } from "../test/support.js";
import { HealthMonitor } from "./health-monitor.js";

describe("HealthMonitor", () => {
  it("is SERVING without a check, and NOT_SERVING once shut down", async () => {
    const monitor = new HealthMonitor(undefined, captureLogs().logger);
    expect(await monitor.status()).toBe(ServingStatus.SERVING);
    monitor.shutdown();
    expect(await monitor.status()).toBe(ServingStatus.NOT_SERVING);
  });

  it("follows the check: resolves is SERVING, throws is NOT_SERVING, and logs each change once", async () => {
    let up = true;
    const { logger, lines } = captureLogs();
    const check = (): Promise<void> => (up ? Promise.resolve() : Promise.reject(new Error("redis down")));
    const monitor = new HealthMonitor({ check }, logger);
    const seen = [];
    for (const next of [true, true, false, false, true]) {
      up = next;
      seen.push(ServingStatus[await monitor.status()]);
    }
    expect(seen).toEqual(["SERVING", "SERVING", "NOT_SERVING", "NOT_SERVING", "SERVING"]);
    const changes = lines.filter((l) => l.msg === "health changed");
    expect(changes.map((l) => [l.level, l.status])).toEqual([
      ["info", "SERVING"],
      ["warn", "NOT_SERVING"],
      ["info", "SERVING"],
    ]);
    expect(changes[1]?.err).toMatchObject({ message: "redis down" });
  });

  it("runs one check for calls that arrive while it is running", async () => {
    let runs = 0;
    let finish!: () => void;
    const monitor = new HealthMonitor(
      {
        check: () => {
          runs++;
          return new Promise<void>((r) => (finish = r));
        },
      },
      captureLogs().logger,
    );
    const statuses = Array.from({ length: 10 }, () => monitor.status());
    finish();
    expect(new Set(await Promise.all(statuses))).toEqual(new Set([ServingStatus.SERVING]));
    expect(runs).toBe(1);
    const again = monitor.status();
    finish();
    await again;
    expect(runs).toBe(2);
  });

  it("counts a check that outlasts timeoutMs as NOT_SERVING, even one that ignores its signal", async () => {
    let aborted: boolean | undefined;
    const monitor = new HealthMonitor(
      {
        timeoutMs: 30,
        check: (signal) => {
          signal.addEventListener("abort", () => (aborted = true));
          return new Promise<void>(() => undefined);
        },
      },
      captureLogs().logger,
    );
    expect(await monitor.status()).toBe(ServingStatus.NOT_SERVING);
    expect(aborted).toBe(true);
  });
});
