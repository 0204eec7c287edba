import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { RedisClient } from "./redis-client.js";

/** Every Lua script, one per atomic step; each lives in `scripts/<name>.lua`. */
export const SCRIPT_NAMES = [
  "enqueue-jobs",
  "lease-jobs",
  "extend-leases",
  "report-jobs",
  "release-jobs",
  "cancel-job",
  "find-due",
  "promote-delayed",
  "expire-leases",
  "restore-jobs",
  "drop-jobs",
  "bury-job",
  "forget-queue",
  "migrate-legacy-ready",
  "begin-restore",
  "save-reconcile-state",
  "renew-lock",
  "release-lock",
  "take-tokens",
  "put-schedule",
  "drop-schedule",
  "claim-schedule-ticks",
  "finish-schedule-firing",
  "retake-schedule-firing",
  "note-schedule-run",
] as const;

export type ScriptName = (typeof SCRIPT_NAMES)[number];

/** Runs one script with its KEYS and ARGV; resolves to the script's raw reply. */
export type RunScript = (keys: readonly string[], args: readonly (string | number)[]) => Promise<unknown>;

export type Scripts = Readonly<Record<ScriptName, RunScript>>;

export interface ScriptOptions {
  /**
   * Testing only: every `redis.call` of a script first checks that its key came in through
   * KEYS (and fails the script when not), and every call checks that its keys share one hash
   * tag, so a single Redis catches what Redis Cluster would refuse or leave undefined.
   */
  checkKeys?: boolean;
}

const readScript = (file: string): string =>
  readFileSync(new URL(`./scripts/${file}`, import.meta.url), "utf8");

/**
 * Prepended to every script under `checkKeys`: `redis.call` is replaced by `checked_call`,
 * which refuses a key that is not in KEYS. Every command the scripts use takes its one key
 * first; TIME takes none.
 */
const KEY_CHECK = `
local DECLARED_KEYS = {}
for _, k in ipairs(KEYS) do
  DECLARED_KEYS[k] = true
end
local function checked_call(command, ...)
  local key = ...
  if string.upper(command) ~= 'TIME' and not DECLARED_KEYS[key] then
    error('script touched a key not in KEYS: ' .. tostring(key))
  end
  return redis.call(command, ...)
end
`;

/** Source of each script, with the shared helpers in front. Read once per process. */
const SOURCES: ReadonlyMap<ScriptName, string> = (() => {
  const common = readScript("include/common.lua");
  return new Map(SCRIPT_NAMES.map((name) => [name, `${common}\n${readScript(`${name}.lua`)}`]));
})();

const sourceOf = (name: ScriptName, checkKeys: boolean): string => {
  const source = SOURCES.get(name) ?? "";
  return checkKeys ? `${KEY_CHECK}\n${source.replaceAll("redis.call(", "checked_call(")}` : source;
};

const digestOf = (source: string): string => createHash("sha1").update(source).digest("hex");

/**
 * Binds every script to `redis` (one Redis or a cluster): a call sends EVALSHA, and EVAL (which
 * loads the script again) when Redis answers NOSCRIPT (after a restart, a failover or
 * `SCRIPT FLUSH`), so scripts never need loading by hand. Plain EVALSHA rather than ioredis'
 * `defineCommand`: ioredis knows where EVALSHA's keys are, so on a cluster auto-pipelining
 * groups each call with the others bound for the master of its keys' slot; it groups a custom
 * command by its first argument (the number of keys), which mixes queues of different masters
 * in one pipeline, and the cluster client refuses that.
 */
export function defineScripts(redis: RedisClient, opts: ScriptOptions = {}): Scripts {
  const checkKeys = opts.checkKeys ?? false;
  const entries = SCRIPT_NAMES.map((name): [ScriptName, RunScript] => {
    const source = sourceOf(name, checkKeys);
    const sha = digestOf(source);
    const run: RunScript = async (keys, args) => {
      if (checkKeys) checkOneSlot(name, keys);
      try {
        return await redis.evalsha(sha, keys.length, ...keys, ...args);
      } catch (err) {
        if (!(err instanceof Error && err.message.startsWith("NOSCRIPT"))) throw err;
        return redis.eval(source, keys.length, ...keys, ...args);
      }
    };
    return [name, run];
  });
  return Object.freeze(Object.fromEntries(entries) as Record<ScriptName, RunScript>);
}

/** The part of a key Redis Cluster hashes: its first non-empty `{...}`, else the whole key. */
export function hashTagOf(key: string): string {
  const open = key.indexOf("{");
  if (open < 0) return key;
  const close = key.indexOf("}", open + 1);
  return close <= open + 1 ? key : key.slice(open + 1, close);
}

function checkOneSlot(name: ScriptName, keys: readonly string[]): void {
  const tags = new Set(keys.map(hashTagOf));
  if (tags.size > 1) throw new Error(`${name}: keys of more than one hash tag: ${[...tags].join(", ")}`);
}
