import { describe, expect, it } from "vitest";
import { parseTokensFile, tokenDigest } from "./tokens-file.js";

const A = "a".repeat(16);
const B = "b".repeat(24);

describe("parseTokensFile", () => {
  it("reads tokens, comma-separated roles and names, skipping comments and blank lines", () => {
    const table = parseTokensFile(`# tokens\n\n${A} submitter,reader billing  # the billing service\n  ${B}   worker\n`);
    expect(table.get(tokenDigest(A))).toEqual({ name: "billing", roles: new Set(["submitter", "reader"]), via: "token" });
    const unnamed = table.get(tokenDigest(B))!;
    expect(unnamed.name).toBe(`token-${tokenDigest(B).slice(0, 12)}`);
    expect(unnamed.name).not.toContain(B);
    expect([...unnamed.roles]).toEqual(["worker"]);
    expect(table.size).toBe(2);
  });

  it("names every bad line without repeating the token", () => {
    const text = [`${A}`, "short reader", `${A} reader x y`, `${B} superuser`, `${A} reader bad=name`, `${A} reader`, `${A} admin`].join("\n");
    let message = "";
    try {
      parseTokensFile(text);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain("line 1: must be");
    expect(message).toContain("line 2: the token must be at least 16 characters");
    expect(message).toContain("line 3: must be");
    expect(message).toContain('line 4: unknown role "superuser"');
    expect(message).toContain("line 5: the name must be");
    expect(message).toContain("line 7: the same token is listed twice");
    expect(message).not.toContain(A);
    expect(message).not.toContain(B);
  });

  it("accepts an empty file: nobody may call", () => {
    expect(parseTokensFile("# nothing yet\n").size).toBe(0);
  });
});
