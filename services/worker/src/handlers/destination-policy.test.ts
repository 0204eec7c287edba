import { describe, expect, it } from "vitest";
import { checkAddress, checkHost, DestinationRefusedError, parseAllowlist, type AllowEntry } from "./destination-policy.js";
import { PermanentError } from "@taskflow/worker-sdk";

const allow = (...texts: string[]): AllowEntry[] => {
  const { entries, problems } = parseAllowlist(texts);
  expect(problems).toEqual([]);
  return entries;
};

/** The refusal checkAddress throws, or undefined when the address passes. */
function refusalOf(check: () => void): string | undefined {
  try {
    check();
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(DestinationRefusedError);
    expect(err).toBeInstanceOf(PermanentError);
    return (err as Error).message;
  }
}

describe("parseAllowlist", () => {
  it("reads host names, subdomain wildcards, IPs and CIDRs of both families", () => {
    const { entries, problems } = parseAllowlist([
      "Hooks.Example.com.",
      "*.example.org",
      "203.0.113.7",
      "10.0.0.0/8",
      "[::1]",
      "fd00:ec2::/64",
    ]);
    expect(problems).toEqual([]);
    expect(entries.map((e) => [e.kind, e.text])).toEqual([
      ["host", "Hooks.Example.com."],
      ["subdomains", "*.example.org"],
      ["range", "203.0.113.7"],
      ["range", "10.0.0.0/8"],
      ["range", "[::1]"],
      ["range", "fd00:ec2::/64"],
    ]);
    expect(entries[0]).toMatchObject({ name: "hooks.example.com" });
    expect(entries[1]).toMatchObject({ suffix: ".example.org" });
    expect(entries.slice(2).map((e) => (e.kind === "range" ? e.range[1] : -1))).toEqual([32, 8, 128, 64]);
  });

  it("names every entry it cannot read", () => {
    const bad = ["10.0.0.0/33", "::1/129", "1.2.3", "0x7f000001", "host:8080", "*", "a..b", "10.0.0.1/8/2", "http://x"];
    const { entries, problems } = parseAllowlist(["ok.example.com", ...bad]);
    expect(entries).toHaveLength(1);
    expect(problems).toEqual(bad.map((b) => `cannot read entry ${JSON.stringify(b)}`));
  });
});

describe("checkAddress", () => {
  it.each([
    ["127.0.0.1", "a loopback"],
    ["127.45.0.9", "a loopback"],
    ["::1", "a loopback"],
    ["10.1.2.3", "a private"],
    ["172.16.0.1", "a private"],
    ["192.168.1.1", "a private"],
    ["fc00::1", "a unique local (private)"],
    ["fd00:ec2::254", "a unique local (private)"],
    ["169.254.169.254", "a link-local"],
    ["169.254.170.2", "a link-local"],
    ["fe80::1", "a link-local"],
    ["100.64.0.1", "a carrier-grade NAT"],
    ["100.100.100.200", "a carrier-grade NAT"],
    ["0.0.0.0", "an unspecified"],
    ["::", "an unspecified"],
    ["224.0.0.1", "a multicast"],
    ["ff02::1", "a multicast"],
    ["255.255.255.255", "a broadcast"],
    ["::ffff:127.0.0.1", "a loopback"],
    ["::ffff:a9fe:a9fe", "a link-local"],
    ["::ffff:10.0.0.1", "a private"],
    ["64:ff9b::7f00:1", "a non-public"],
    ["::7f00:1", "a non-public"],
    ["192.0.0.192", "a non-public"],
  ])("refuses %s (%s) by default", (address, words) => {
    expect(refusalOf(() => checkAddress(address, address, []))).toBe(`HTTP handler refused ${address}: ${words} address`);
  });

  it("says what a host name resolved to", () => {
    expect(refusalOf(() => checkAddress("localhost", "127.0.0.1", []))).toBe(
      "HTTP handler refused localhost: resolves to 127.0.0.1, a loopback address",
    );
  });

  it("passes public addresses when the allowlist is empty", () => {
    for (const address of ["93.184.215.14", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"]) {
      expect(refusalOf(() => checkAddress("hooks.example.com", address, []))).toBeUndefined();
    }
  });

  it("passes a special address covered by an IP or CIDR entry, and only that", () => {
    const entries = allow("127.0.0.1/32", "10.0.0.0/8", "fd00:ec2::254", "169.254.169.254");
    for (const address of ["127.0.0.1", "::ffff:127.0.0.1", "10.9.8.7", "fd00:ec2::254", "169.254.169.254"]) {
      expect(refusalOf(() => checkAddress("h.example.com", address, entries))).toBeUndefined();
    }
    for (const address of ["127.0.0.2", "::1", "192.168.0.1", "fd00:ec2::253", "169.254.170.2"]) {
      expect(refusalOf(() => checkAddress("h.example.com", address, entries))).toMatch(/address$/);
    }
  });

  it("passes a special address of a host named exactly, not of one matched by a wildcard", () => {
    expect(refusalOf(() => checkAddress("localhost", "127.0.0.1", allow("localhost")))).toBeUndefined();
    expect(refusalOf(() => checkAddress("svc.internal", "10.0.0.5", allow("*.internal")))).toBe(
      "HTTP handler refused svc.internal: resolves to 10.0.0.5, a private address",
    );
  });

  it("with an allowlist, passes only public addresses it covers or of hosts it matches", () => {
    const entries = allow("hooks.example.com", "*.example.org", "198.51.100.0/24");
    const pass = [
      ["hooks.example.com", "93.184.215.14"],
      ["HOOKS.example.com.", "93.184.215.14"],
      ["a.b.example.org", "93.184.215.14"],
      ["other.example.net", "198.51.100.9"],
    ];
    for (const [host, address] of pass) expect(refusalOf(() => checkAddress(host!, address!, entries))).toBeUndefined();
    expect(refusalOf(() => checkAddress("example.org", "93.184.215.14", entries))).toBe(
      "HTTP handler refused example.org: resolves to 93.184.215.14, not in HTTP_HANDLER_ALLOW",
    );
    expect(refusalOf(() => checkAddress("8.8.8.8", "8.8.8.8", entries))).toBe(
      "HTTP handler refused 8.8.8.8: not in HTTP_HANDLER_ALLOW",
    );
  });
});

describe("checkHost", () => {
  it("checks IP literals in full, in URL form too", () => {
    for (const host of ["127.0.0.1", "[::1]", "[::ffff:7f00:1]", "169.254.169.254", "[fd00:ec2::254]"]) {
      expect(refusalOf(() => checkHost(host, []))).toMatch(/^HTTP handler refused .*address$/);
    }
    expect(refusalOf(() => checkHost(new URL("http://[::ffff:127.0.0.1]/").hostname, []))).toBe(
      "HTTP handler refused ::ffff:7f00:1: a loopback address",
    );
    expect(refusalOf(() => checkHost("[::1]", allow("::1")))).toBeUndefined();
  });

  it("refuses metadata host names unless named exactly", () => {
    for (const host of ["metadata.google.internal", "metadata.google.internal.", "METADATA", "instance-data"]) {
      expect(refusalOf(() => checkHost(host, allow("*.google.internal")))).toMatch(/: a cloud metadata host$/);
    }
    expect(refusalOf(() => checkHost("metadata.google.internal", allow("metadata.google.internal")))).toBeUndefined();
  });

  it("refuses names the allowlist cannot match before any lookup, and leaves the rest to checkAddress", () => {
    expect(refusalOf(() => checkHost("evil.example.net", allow("hooks.example.com")))).toBe(
      "HTTP handler refused evil.example.net: not in HTTP_HANDLER_ALLOW",
    );
    expect(refusalOf(() => checkHost("hooks.example.com", allow("hooks.example.com")))).toBeUndefined();
    expect(refusalOf(() => checkHost("evil.example.net", allow("hooks.example.com", "10.0.0.0/8")))).toBeUndefined();
    expect(refusalOf(() => checkHost("localhost", []))).toBeUndefined();
  });
});
