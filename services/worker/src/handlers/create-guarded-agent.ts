import { lookup, type LookupAddress } from "node:dns";
import type { LookupFunction } from "node:net";
import { Agent } from "undici";
import { checkAddress, type AllowEntry } from "./destination-policy.js";

/**
 * An undici Agent whose connections go only to checked addresses. Its lookup resolves a host once,
 * checks every address DNS returns (one bad address refuses the host, so round-robin cannot slip
 * one through) and hands exactly those to the socket, which connects to them without resolving
 * again: a DNS answer that changes between check and connect (rebinding) cannot redirect it. IP
 * literals skip lookup altogether; callers check them with checkHost before each request.
 */
export function createGuardedAgent(allow: readonly AllowEntry[], resolve: Resolve = resolveAll): Agent {
  return new Agent({ connect: { lookup: createGuardedLookup(allow, resolve) } });
}

/** Resolves a host to all its addresses, as `dns.lookup` with `all: true` does. */
export type Resolve = (
  hostname: string,
  options: { family: number; hints: number },
  callback: (err: Error | null, addresses: LookupAddress[]) => void,
) => void;

const resolveAll: Resolve = (hostname, options, callback) => lookup(hostname, { ...options, all: true }, callback);

/** The lookup of createGuardedAgent, for net.connect and tls.connect. */
export function createGuardedLookup(allow: readonly AllowEntry[], resolve: Resolve = resolveAll): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { family: familyNumber(options.family), hints: options.hints ?? 0 }, (err, addresses) => {
      if (err !== null) return callback(err, "", 0);
      const checked = check(hostname, addresses, allow);
      if (checked instanceof Error) return callback(checked, "", 0);
      const first = checked[0];
      if (options.all === true) return callback(null, checked);
      if (first === undefined) return callback(new Error(`no address for ${hostname}`), "", 0);
      callback(null, first.address, first.family);
    });
  };
}

/** net may pass the family as 4, 6, "IPv4" or "IPv6"; dns.lookup wants 0, 4 or 6. */
function familyNumber(family: number | "IPv4" | "IPv6" | undefined): number {
  if (family === "IPv4") return 4;
  if (family === "IPv6") return 6;
  return family ?? 0;
}

function check(hostname: string, addresses: LookupAddress[], allow: readonly AllowEntry[]): LookupAddress[] | Error {
  try {
    for (const { address } of addresses) checkAddress(hostname, address, allow);
    return addresses;
  } catch (err) {
    return err as Error;
  }
}
