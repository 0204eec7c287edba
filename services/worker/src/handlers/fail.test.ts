import { PermanentError } from "@taskflow/worker-sdk";
import { describe, expect, it } from "vitest";
import { makeContext } from "../../test/make-context.js";
import { fail } from "./fail.js";

describe("fail", () => {
  it("fails with the payload's message, as a retryable error", async () => {
    const err = await fail(makeContext({ message: "boom" })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(PermanentError);
    expect((err as Error).message).toBe("boom");
  });

  it("fails on every attempt", async () => {
    for (const attempt of [1, 2, 3]) {
      await expect(fail(makeContext({ message: "again" }, { attempt }))).rejects.toThrow("again");
    }
  });

  it("has a default message", async () => {
    await expect(fail(makeContext({}))).rejects.toThrow("failed on purpose");
  });
});
