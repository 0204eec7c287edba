import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { codeOf, rejection } from "./rejection.js";

describe("rejection", () => {
  it("returns the error of a failed call as a ConnectError", async () => {
    const err = await rejection(Promise.reject(new ConnectError("gone", Code.NotFound)));
    expect([err.code, err.rawMessage]).toEqual([Code.NotFound, "gone"]);
    expect((await rejection(Promise.reject(new Error("boom")))).code).toBe(Code.Unknown);
  });

  it("fails when the call succeeds", async () => {
    await expect(rejection(Promise.resolve(1))).rejects.toThrow("expected the call to fail");
  });
});

describe("codeOf", () => {
  it("is the code of a failed call and undefined for one that succeeded", async () => {
    expect(await codeOf(Promise.reject(new ConnectError("stale", Code.FailedPrecondition)))).toBe(Code.FailedPrecondition);
    expect(await codeOf(Promise.resolve(1))).toBeUndefined();
  });
});
