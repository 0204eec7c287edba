import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { decodePageToken, encodePageToken, pageOf } from "./page-token.js";

const isString = (a: unknown): a is string => typeof a === "string";
const isNumber = (a: unknown): a is number => typeof a === "number";

describe("page tokens", () => {
  it("round-trips a string or number cursor as base64url", () => {
    const token = encodePageToken("0190d6c0-0000-7000-8000-000000000000");
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodePageToken(token, isString)).toBe("0190d6c0-0000-7000-8000-000000000000");
    expect(decodePageToken(encodePageToken(42), isNumber)).toBe(42);
  });

  it("reads an empty token as the first page", () => {
    expect(decodePageToken("", isString)).toBeUndefined();
  });

  it.each([
    ["not base64url", "a+b/c="],
    ["not JSON", Buffer.from("hello").toString("base64url")],
    ["JSON null", Buffer.from("null").toString("base64url")],
    ["no after", Buffer.from("{}").toString("base64url")],
    ["a cursor of the wrong kind", encodePageToken(7)],
  ])("rejects %s as invalid_argument", (_, token) => {
    expect(() => decodePageToken(token, isString)).toThrow(expect.objectContaining({ code: Code.InvalidArgument }));
  });

  it("cuts the look-ahead row and points the token at the last row kept", () => {
    expect(pageOf([1, 2, 3], 2, (n) => n)).toEqual({ items: [1, 2], next: encodePageToken(2) });
    expect(pageOf([1, 2], 2, (n) => n)).toEqual({ items: [1, 2], next: "" });
  });
});
