import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { PageTokens } from "./page-token.js";

const isString = (a: unknown): a is string => typeof a === "string";
const isNumber = (a: unknown): a is number => typeof a === "number";
const invalid = expect.objectContaining({ code: Code.InvalidArgument });

describe("PageTokens", () => {
  const tokens = new PageTokens("0123456789abcdef-test-secret");

  it("round-trips a string or number cursor in its scope", () => {
    const token = tokens.encode("jobs:a", "0190d6c0-0000-7000-8000-000000000000");
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(tokens.decode(token, "jobs:a", isString)).toBe("0190d6c0-0000-7000-8000-000000000000");
    expect(tokens.decode(tokens.encode("events", 42), "events", isNumber)).toBe(42);
  });

  it("reads an empty token as the first page", () => {
    expect(tokens.decode("", "jobs:a", isString)).toBeUndefined();
  });

  it("refuses a token replayed with other filters", () => {
    const token = tokens.encode("jobs:status=failed", "x");
    expect(() => tokens.decode(token, "jobs:status=completed", isString)).toThrow(invalid);
  });

  it("refuses a token whose payload was edited, keeping its MAC", () => {
    const [, mac] = tokens.encode("jobs:a", "0190d6c0-0000-7000-8000-000000000000").split(".");
    const forged = `${Buffer.from(JSON.stringify({ after: "0190d6c0-0000-7000-8000-ffffffffffff" })).toString("base64url")}.${mac}`;
    expect(() => tokens.decode(forged, "jobs:a", isString)).toThrow(invalid);
  });

  it("refuses a token signed with another secret, and accepts it with the same secret", () => {
    const other = new PageTokens("another-secret-of-16+chars");
    const token = other.encode("jobs:a", "x");
    expect(() => tokens.decode(token, "jobs:a", isString)).toThrow(invalid);
    expect(new PageTokens("another-secret-of-16+chars").decode(token, "jobs:a", isString)).toBe("x");
  });

  it("gives each process a random secret when none is configured", () => {
    const token = new PageTokens("").encode("jobs:a", "x");
    expect(() => new PageTokens("").decode(token, "jobs:a", isString)).toThrow(invalid);
  });

  it.each([
    ["not base64url", "a+b/c=.abc"],
    ["no MAC", Buffer.from('{"after":"x"}').toString("base64url")],
    ["a short MAC", `${Buffer.from('{"after":"x"}').toString("base64url")}.AAAA`],
    ["a cursor of the wrong kind", tokens.encode("jobs:a", 7)],
  ])("rejects %s as invalid_argument", (_, token) => {
    expect(() => tokens.decode(token, "jobs:a", isString)).toThrow(invalid);
  });

  it("cuts the look-ahead row and points the token at the last row kept", () => {
    const page = tokens.pageOf([1, 2, 3], 2, "events", (n) => n);
    expect(page.items).toEqual([1, 2]);
    expect(tokens.decode(page.next, "events", isNumber)).toBe(2);
    expect(tokens.pageOf([1, 2], 2, "events", (n) => n)).toEqual({ items: [1, 2], next: "" });
  });
});
