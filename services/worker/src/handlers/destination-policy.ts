import { isIP } from "node:net";
import { domainToASCII } from "node:url";
import { PermanentError } from "@taskflow/worker-sdk";
import ipaddr from "ipaddr.js";

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** One HTTP_HANDLER_ALLOW entry, as parsed; `text` is the entry as written. */
export type AllowEntry =
  | { readonly kind: "host"; readonly text: string; readonly name: string }
  | { readonly kind: "subdomains"; readonly text: string; readonly suffix: string }
  | { readonly kind: "range"; readonly text: string; readonly range: readonly [Address, number] };

/**
 * The http handler refused a destination. Permanent: the same job would be refused again.
 * The message names the host only, never the URL's query or credentials.
 */
export class DestinationRefusedError extends PermanentError {}

/**
 * Host names of cloud metadata services. Most resolve to link-local or private addresses, which
 * are refused anyway; naming them refuses them even where DNS says otherwise.
 */
const metadataHosts: ReadonlySet<string> = new Set([
  "metadata",
  "metadata.google.internal",
  "metadata.goog",
  "instance-data",
  "instance-data.ec2.internal",
]);

/** IPv6 global unicast; the rest of the space is special or unassigned. */
const globalUnicast6 = ipaddr.parseCIDR("2000::/3");

const rangeWords: Readonly<Record<string, string>> = {
  unspecified: "an unspecified",
  broadcast: "a broadcast",
  multicast: "a multicast",
  linkLocal: "a link-local",
  loopback: "a loopback",
  carrierGradeNat: "a carrier-grade NAT",
  private: "a private",
  uniqueLocal: "a unique local (private)",
};

/**
 * Parses HTTP_HANDLER_ALLOW entries: a host name (`hooks.example.com`), every subdomain of one
 * (`*.example.com`), an IP address or a CIDR range, IPv4 or IPv6.
 * @returns the entries that parse, and one problem per entry that does not.
 */
export function parseAllowlist(texts: readonly string[]): { entries: AllowEntry[]; problems: string[] } {
  const entries: AllowEntry[] = [];
  const problems: string[] = [];
  for (const text of texts) {
    const entry = parseAllowEntry(text);
    if (entry === undefined) problems.push(`cannot read entry ${JSON.stringify(text)}`);
    else entries.push(entry);
  }
  return { entries, problems };
}

function parseAllowEntry(text: string): AllowEntry | undefined {
  const [ip, prefix, ...rest] = text.replace(/^\[(.*)\]$/, "$1").split("/");
  if (ip !== undefined && isIP(ip) !== 0 && rest.length === 0) {
    const address = ipaddr.parse(ip);
    const max = address.kind() === "ipv4" ? 32 : 128;
    if (prefix === undefined) return { kind: "range", text, range: [address, max] };
    const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : Number.NaN;
    return bits <= max ? { kind: "range", text, range: [address, bits] } : undefined;
  }
  const wildcard = text.startsWith("*.");
  const name = normalHost(wildcard ? text.slice(2) : text);
  if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(name) || /^[\d.]+$/.test(name)) return undefined;
  return wildcard ? { kind: "subdomains", text, suffix: `.${name}` } : { kind: "host", text, name };
}

/** A host as URLs and DNS give it, for comparing: ASCII, lower case, no brackets or final dot. */
export function normalHost(host: string): string {
  const bare = host.replace(/^\[(.*)\]$/, "$1").replace(/\.$/, "");
  return isIP(bare) === 0 ? domainToASCII(bare) || bare.toLowerCase() : bare.toLowerCase();
}

/**
 * Checks a URL's host before connecting. An IP literal is checked in full here, because no DNS
 * lookup happens for it; a name is checked against the name rules, its addresses at connect time
 * (see checkAddress).
 * @throws DestinationRefusedError
 */
export function checkHost(host: string, allow: readonly AllowEntry[]): void {
  const name = normalHost(host);
  if (isIP(name) !== 0) return checkAddress(name, name, allow);
  if (metadataHosts.has(name) && !namesExactly(name, allow)) {
    throw refused(name, "a cloud metadata host");
  }
  const anyRange = allow.some((e) => e.kind === "range");
  if (allow.length > 0 && !anyRange && !matchesName(name, allow)) throw refused(name, "not in HTTP_HANDLER_ALLOW");
}

/**
 * Checks one address that `host` resolves to (or is). Addresses that are not global unicast
 * (loopback, private, link-local, CGNAT, multicast…, also in IPv4-mapped IPv6 form) pass only when
 * an IP or CIDR entry covers them or an entry names the host exactly. With a non-empty allowlist,
 * any other address passes only when an entry covers it or matches the host.
 * @throws DestinationRefusedError
 */
export function checkAddress(host: string, address: string, allow: readonly AllowEntry[]): void {
  const name = normalHost(host);
  const raw = ipaddr.parse(address);
  const ip = ipaddr.process(address);
  const covered = allow.some((e) => e.kind === "range" && (inRange(ip, e.range) || inRange(raw, e.range)));
  if (covered) return;
  const special = specialRange(ip);
  const resolved = name === normalHost(address) ? "" : `resolves to ${address}, `;
  if (special !== undefined) {
    if (namesExactly(name, allow)) return;
    throw refused(name, `${resolved}${rangeWords[special] ?? "a non-public"} address`);
  }
  if (allow.length > 0 && !matchesName(name, allow)) throw refused(name, `${resolved}not in HTTP_HANDLER_ALLOW`);
}

/** The range name of an address that is not global unicast, or undefined for a public one. */
function specialRange(ip: Address): string | undefined {
  const range = ip.range();
  if (range !== "unicast") return range;
  if (ip.kind() === "ipv6" && !ip.match(globalUnicast6)) return "reserved";
  return undefined;
}

function inRange(ip: Address, range: readonly [Address, number]): boolean {
  return ip.kind() === range[0].kind() && ip.match(range[0], range[1]);
}

function namesExactly(name: string, allow: readonly AllowEntry[]): boolean {
  return allow.some((e) => e.kind === "host" && e.name === name);
}

function matchesName(name: string, allow: readonly AllowEntry[]): boolean {
  return namesExactly(name, allow) || allow.some((e) => e.kind === "subdomains" && name.endsWith(e.suffix));
}

function refused(host: string, why: string): DestinationRefusedError {
  return new DestinationRefusedError(`HTTP handler refused ${host}: ${why}`);
}
