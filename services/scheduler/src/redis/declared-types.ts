import { callRedis } from "../errors.js";
import type { QueueKeys } from "./keys.js";
import type { RunScript } from "./scripts.js";

/** Calls of one script an operation makes at most while it learns the job types to declare. */
const MAX_CALLS = 3;
const UNDECLARED = "TF_UNDECLARED_TYPES ";

/**
 * The job types this process has seen per queue. A script takes a job's type from its hash, so
 * the caller cannot know for sure which ready sets (`<p>:{<queue>}:ready:<type>`) it will touch;
 * every key must still come in through KEYS (Redis Cluster). So a call declares the ready sets
 * of the queue's known types; a call that needs another is refused before it writes anything
 * (TF_UNDECLARED_TYPES, see scripts/include/common.lua), and is made again with the types it
 * named, now known. Queues have few types, learnt once per process each.
 */
export class KnownTypes {
  private readonly byQueue = new Map<string, Set<string>>();

  of(queue: string): string[] {
    return [...(this.byQueue.get(queue) ?? [])];
  }

  learn(queue: string, types: Iterable<string>): void {
    let known = this.byQueue.get(queue);
    for (const t of types) {
      if (known === undefined) {
        known = new Set();
        this.byQueue.set(queue, known);
      }
      known.add(t);
    }
  }

  /** Drops a forgotten queue's types. */
  forget(queue: string): void {
    this.byQueue.delete(queue);
  }
}

/** The types a TF_UNDECLARED_TYPES refusal names; undefined for any other error. */
export function undeclaredTypesOf(err: unknown): string[] | undefined {
  if (!(err instanceof Error) || !err.message.startsWith(UNDECLARED)) return undefined;
  const types: unknown = JSON.parse(err.message.slice(UNDECLARED.length));
  return Array.isArray(types) ? types.map(String) : undefined;
}

/** One script call that declares ready sets. */
export interface DeclaringCall {
  /** The script's own keys, before the ready sets. */
  fixed: readonly string[];
  /** Keys after the ready sets: the job hashes, in the order of the jobs in `args`. */
  jobKeys: readonly string[];
  /** The script's own arguments, after the declared types. */
  args: readonly (string | number)[];
  /** Types to declare (e.g. those of the jobs to enqueue); learnt as the queue's. */
  types?: Iterable<string>;
  /** Declare the queue's known types too (default true); false when `types` are all the call needs. */
  declareKnown?: boolean;
}

/**
 * KEYS and ARGV of a call declaring the ready sets of `types`: KEYS are `fixed`, the ready
 * sets, then `jobKeys`; ARGV is the number of types, the types, then `args`.
 */
export function declaredKeys(k: QueueKeys, types: readonly string[], call: DeclaringCall): [string[], (string | number)[]] {
  return [
    [...call.fixed, ...types.map((t) => k.ready(t)), ...call.jobKeys],
    [types.length, ...types, ...call.args],
  ];
}

/**
 * Runs a script that declares ready sets (see {@link KnownTypes}) on the queue of `k`: the
 * known types and `call.types` first; when refused, again with the types it named.
 * @throws unavailable when Redis fails; the script's own error otherwise.
 */
export async function runDeclaring(run: RunScript, known: KnownTypes, k: QueueKeys, call: DeclaringCall): Promise<unknown> {
  const given = [...(call.types ?? [])];
  known.learn(k.queue, given);
  const types = new Set(call.declareKnown === false ? given : [...known.of(k.queue), ...given]);
  for (let calls = 1; ; calls += 1) {
    const [keys, args] = declaredKeys(k, [...types], call);
    try {
      return await callRedis(() => run(keys, args));
    } catch (err) {
      const missing = undeclaredTypesOf(err);
      if (missing === undefined || calls >= MAX_CALLS) throw err;
      known.learn(k.queue, missing);
      for (const t of missing) types.add(t);
    }
  }
}
