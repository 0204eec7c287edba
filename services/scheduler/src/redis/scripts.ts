import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";

/** Every Lua script, one per atomic step; each lives in `scripts/<name>.lua`. */
export const SCRIPT_NAMES = [
  "enqueue-jobs",
  "lease-jobs",
  "extend-leases",
  "report-jobs",
  "release-jobs",
  "cancel-job",
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
] as const;

export type ScriptName = (typeof SCRIPT_NAMES)[number];

/** Runs one script with its KEYS and ARGV; resolves to the script's raw reply. */
export type RunScript = (keys: readonly string[], args: readonly (string | number)[]) => Promise<unknown>;

export type Scripts = Readonly<Record<ScriptName, RunScript>>;

const readScript = (file: string): string =>
  readFileSync(new URL(`./scripts/${file}`, import.meta.url), "utf8");

/** Source of each script, with the shared helpers in front. Read once per process. */
const SOURCES: ReadonlyMap<ScriptName, string> = (() => {
  const common = readScript("include/common.lua");
  return new Map(SCRIPT_NAMES.map((name) => [name, `${common}\n${readScript(`${name}.lua`)}`]));
})();

const commandName = (name: ScriptName): string => `tf_${name.replaceAll("-", "_")}`;

type ScriptCommand = (...args: (string | number)[]) => Promise<unknown>;

/**
 * Registers every script on `redis` with `defineCommand`: ioredis then sends
 * EVALSHA and falls back to EVAL when Redis answers NOSCRIPT (after a restart
 * or `SCRIPT FLUSH`), so scripts never need loading by hand.
 */
export function defineScripts(redis: Redis): Scripts {
  const commands = redis as unknown as Record<string, ScriptCommand>;
  const entries = SCRIPT_NAMES.map((name): [ScriptName, RunScript] => {
    const command = commandName(name);
    if (typeof commands[command] !== "function") {
      redis.defineCommand(command, { lua: SOURCES.get(name) ?? "" });
    }
    return [name, (keys, args) => commands[command]!(keys.length, ...keys, ...args)];
  });
  return Object.freeze(Object.fromEntries(entries) as Record<ScriptName, RunScript>);
}
