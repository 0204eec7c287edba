import { describe, expect, it } from "vitest";
import { makeContext } from "../../test/make-context.js";
import { echo } from "./echo.js";

describe("echo", () => {
  it("returns its payload", async () => {
    const payload = { a: 1, nested: { b: [true, null, "x"] } };
    expect(await echo(makeContext(payload))).toEqual(payload);
  });

  it("returns an empty object for an empty payload", async () => {
    expect(await echo(makeContext({}))).toEqual({});
  });
});
