import { PermanentError } from "@taskflow/worker-sdk";
import { describe, expect, it } from "vitest";
import { makeContext } from "../../test/make-context.js";
import { flaky } from "./flaky.js";

describe("flaky", () => {
  it("fails attempts 1 to n, then succeeds with the attempt number", async () => {
    const payload = { failures: 2 };
    await expect(flaky(makeContext(payload, { attempt: 1 }))).rejects.toThrow("flaky failure 1 of 2");
    await expect(flaky(makeContext(payload, { attempt: 2 }))).rejects.toThrow("flaky failure 2 of 2");
    expect(await flaky(makeContext(payload, { attempt: 3 }))).toEqual({ attempt: 3 });
  });

  it("succeeds at once with no failures", async () => {
    expect(await flaky(makeContext({ failures: 0 }, { attempt: 1 }))).toEqual({ attempt: 1 });
  });

  it("keeps failures retryable", async () => {
    const err = await flaky(makeContext({ failures: 1 })).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(PermanentError);
  });

  it.each([[{}], [{ failures: -1 }], [{ failures: "2" }]])("fails permanently on %j", async (payload) => {
    await expect(flaky(makeContext(payload))).rejects.toBeInstanceOf(PermanentError);
  });
});
