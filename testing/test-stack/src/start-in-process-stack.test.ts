import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "@taskflow/proto/gen/grpc/health/v1/health_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startInProcessStack, type InProcessStack } from "./start-in-process-stack.js";

/** The health a server reports, or the Connect code of the failed check. */
async function healthOf(url: string): Promise<ServingStatus | Code> {
  const health = createClient(Health, createGrpcTransport({ baseUrl: url }));
  return health.check({ service: "" }, { timeoutMs: 5_000 }).then(
    (res) => res.status,
    (err: unknown) => ConnectError.from(err).code,
  );
}

describe("startInProcessStack", () => {
  let stack: InProcessStack;
  beforeAll(async () => {
    stack = await startInProcessStack({ LEASE_MS: "2000" });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("serves history and scheduler on ports of their own", async () => {
    expect(stack.schedulerUrl).not.toBe(stack.historyUrl);
    expect(await healthOf(stack.historyUrl)).toBe(ServingStatus.SERVING);
    expect(await healthOf(stack.schedulerUrl)).toBe(ServingStatus.SERVING);
  });

  it("stops the scheduler and starts it again on the same url", async () => {
    const restart = await stack.stopScheduler();
    expect(await healthOf(stack.schedulerUrl)).toBe(Code.Unavailable);
    expect(await healthOf(stack.historyUrl)).toBe(ServingStatus.SERVING);
    await restart();
    expect(await healthOf(stack.schedulerUrl)).toBe(ServingStatus.SERVING);
  });

  it("rejects a bad scheduler setting", async () => {
    await expect(startInProcessStack({ LEASE_MS: "soon" })).rejects.toThrow(/LEASE_MS/);
  });
});

describe("close", () => {
  it("stops both services, also after the scheduler was stopped, and may be called again", async () => {
    const stack = await startInProcessStack();
    await stack.stopScheduler();
    await stack.close();
    await stack.close();
    expect(await healthOf(stack.historyUrl)).toBe(Code.Unavailable);
    expect(await healthOf(stack.schedulerUrl)).toBe(Code.Unavailable);
  });
});
