import { describe, expect, it } from "vitest";
import { eventually } from "./eventually.js";

describe("eventually", () => {
  it("returns the first value other than undefined, trying again after errors", async () => {
    let calls = 0;
    const value = await eventually(() => {
      calls += 1;
      if (calls === 1) return Promise.reject(new Error("not yet"));
      return Promise.resolve(calls === 3 ? "ready" : undefined);
    });
    expect([value, calls]).toEqual(["ready", 3]);
  });

  it("fails after the timeout with the last error as cause", async () => {
    const err = await eventually(() => Promise.reject(new Error("still down")), 50).catch((e: unknown) => e);
    expect(err).toMatchObject({ message: "condition not met within 50 ms", cause: { message: "still down" } });
  });
});
