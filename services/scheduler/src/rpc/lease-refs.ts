import type { Lease } from "@taskflow/proto";
import { invalidArgument } from "../errors.js";
import type { LeaseRef } from "../redis/queue-store.js";
import { checkJobId, NAME_PATTERN } from "../validate.js";

/** Most leases one heartbeat, report or release call may name. */
export const MAX_LEASES_PER_CALL = 10_000;

/** A validated lease and its place in the request. */
export interface PlacedLease extends LeaseRef {
  index: number;
  queue: string;
}

/**
 * Validates the leases a worker names.
 * @throws invalid_argument naming the first bad lease's index and field.
 */
export function parseLeases(
  leases: readonly (Lease | undefined)[],
  field: string,
  pathOf = (i: number): string => `${field}[${i}]`,
): PlacedLease[] {
  if (leases.length > MAX_LEASES_PER_CALL) {
    throw invalidArgument(field, `must hold at most ${MAX_LEASES_PER_CALL} entries`);
  }
  return leases.map((l, index) => {
    const at = pathOf(index);
    if (l === undefined) throw invalidArgument(at, "must be set");
    checkJobId(l.jobId, `${at}.job_id`);
    if (!NAME_PATTERN.test(l.queue)) throw invalidArgument(`${at}.queue`, "must be a queue name");
    if (l.leaseToken === "" || l.leaseToken.length > 256) throw invalidArgument(`${at}.lease_token`, "must be a lease token");
    return { index, queue: l.queue, id: l.jobId, token: l.leaseToken };
  });
}

/** Groups items by queue, keeping request order within each group. */
export function groupByQueue<T extends { queue: string }>(items: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const list = groups.get(item.queue);
    if (list === undefined) groups.set(item.queue, [item]);
    else list.push(item);
  }
  return groups;
}
