#!/usr/bin/env node
// What `npm start`, `npm test` and `npm run bench` run. It needs only Node and npm: it runs the
// pinned pnpm (through npx when PATH has no such pnpm), installs when the manifests changed,
// builds (turbo's cache makes that near instant), then runs the command. No dependencies, since
// it runs before anything is installed.
//
//   node scripts/bootstrap.mjs start                   the whole stack, until Ctrl-C
//   node scripts/bootstrap.mjs test [vitest args]      every test, against real stores
//   node scripts/bootstrap.mjs bench|bench:profile|bench:history|bench:history-ingest|bench:dashboard|chaos [args]
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { constants } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const pnpmVersion = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))
  .packageManager.replace(/^pnpm@/, "")
  .split("+")[0];
// Nothing may stop to ask a question: there may be no one at the terminal (CI).
const env = {
  ...process.env,
  COREPACK_ENABLE_DOWNLOAD_PROMPT: "0",
  npm_config_yes: "true",
  npm_config_update_notifier: "false",
  TURBO_TELEMETRY_DISABLED: "1",
};
// Written after a successful install; an install is due when a manifest is newer.
const installStamp = join(root, "node_modules", ".taskflow-install-stamp");
// Scripts run with the stores' urls in the environment, as the tests are.
const storeScripts = {
  bench: "tools/bench/dist/cli.js",
  "bench:profile": "tools/bench/dist/profile.js",
  "bench:history": "tools/bench/dist/history/cli.js",
  "bench:history-ingest": "tools/bench/dist/history/ingest-cli.js",
  "bench:dashboard": "tools/bench/dist/history/dashboard-cli.js",
  chaos: "tools/chaos/dist/cli.js",
};
// Scripts that use only PostgreSQL: no Redis is started for them.
const postgresOnlyScripts = new Set(["bench:history", "bench:history-ingest", "bench:dashboard"]);

let child; // the command running now, which gets the signals this process gets
let stopSignal; // the first stop signal received, if any
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    stopSignal ??= signal;
    child?.kill(signal);
  });
}

/** Runs a command with this terminal, forwarding signals; resolves with its exit code. */
function run(command, args, extraEnv = {}) {
  return new Promise((resolve) => {
    child = spawn(command, args, { cwd: root, stdio: "inherit", env: { ...env, ...extraEnv } });
    child.on("error", (err) => {
      console.error(`could not run ${command}: ${err.message}`);
      resolve(1);
    });
    child.on("exit", (code, signal) => {
      child = undefined;
      resolve(code ?? 128 + constants.signals[signal]);
    });
  });
}

/** `pnpm` if PATH has the pinned version, else the pinned version through npx. */
function pnpmCommand() {
  const found = spawnSync("pnpm", ["--version"], { env, encoding: "utf8" });
  if (found.status === 0 && found.stdout.trim() === pnpmVersion) return ["pnpm"];
  return ["npx", "--yes", "--prefer-offline", `pnpm@${pnpmVersion}`];
}

const [pnpm, ...pnpmArgs] = pnpmCommand();
const runPnpm = (args, extraEnv) => run(pnpm, [...pnpmArgs, ...args], extraEnv);

/** The workspace's package.json files and the lock: what an install depends on. */
function installInputs() {
  const workspace = readFileSync(join(root, "pnpm-workspace.yaml"), "utf8");
  const section = workspace.split(/^packages:\s*$/m)[1]?.split(/^\S/m)[0] ?? "";
  const patterns = [...section.matchAll(/^\s+-\s+["']?([^"'\s]+)["']?\s*$/gm)].map((m) => m[1]);
  const dirs = patterns.flatMap((pattern) => {
    if (!pattern.endsWith("/*")) return [pattern];
    const parent = pattern.slice(0, -2);
    if (!existsSync(join(root, parent))) return [];
    return readdirSync(join(root, parent)).map((name) => `${parent}/${name}`);
  });
  const manifests = dirs.map((dir) => join(root, dir, "package.json")).filter(existsSync);
  return [join(root, "package.json"), join(root, "pnpm-lock.yaml"), ...manifests];
}

function installIsCurrent() {
  if (!existsSync(installStamp)) return false;
  const stamped = statSync(installStamp).mtimeMs;
  return installInputs().every((file) => statSync(file).mtimeMs <= stamped);
}

/** Installs when needed and builds; exits with the failing step's code. */
async function prepare() {
  if (!installIsCurrent()) {
    const code = await runPnpm(["install", "--frozen-lockfile"]);
    if (code !== 0) process.exit(code);
    writeFileSync(installStamp, `${new Date().toISOString()}\n`);
  }
  const code = await runPnpm(["exec", "turbo", "run", "build", "--output-logs=errors-only"]);
  if (code !== 0) process.exit(code);
  if (stopSignal) process.exit(130);
}

/**
 * Runs `body` with TEST_DATABASE_URL (a server where tests may CREATE DATABASE) and
 * TEST_REDIS_URL set (unless `redis` is false), from the environment or from devstack's
 * stores, which it stops after.
 */
async function withStores(body, { redis: useRedis = true } = {}) {
  const devstack = join(root, "tools", "devstack", "dist", "index.js");
  const { ensurePostgres, ensureRedis } = await import(pathToFileURL(devstack).href);
  const started = [];
  try {
    let { TEST_DATABASE_URL, TEST_REDIS_URL } = process.env;
    if (!TEST_DATABASE_URL) {
      const postgres = await ensurePostgres();
      started.push(postgres);
      TEST_DATABASE_URL = postgres.adminUrl;
    }
    if (useRedis && !TEST_REDIS_URL) {
      const redis = await ensureRedis();
      started.push(redis);
      TEST_REDIS_URL = redis.url;
    }
    return await body({ TEST_DATABASE_URL, TEST_REDIS_URL });
  } finally {
    for (const store of started.reverse()) await store.stop();
  }
}

async function main() {
  const [command, ...args] = process.argv.slice(2);
  if (command === "start") {
    await prepare();
    return run(process.execPath, [join(root, "tools", "devstack", "dist", "cli.js"), "start"]);
  }
  if (command === "test") {
    await prepare();
    return withStores((storeEnv) => runPnpm(["exec", "vitest", "run", ...args], storeEnv));
  }
  if (Object.hasOwn(storeScripts, command)) {
    // After the build: a script may be a package's built output.
    await prepare();
    const script = join(root, storeScripts[command]);
    if (!existsSync(script)) {
      console.error(`${storeScripts[command]} does not exist`);
      return 1;
    }
    const redis = !postgresOnlyScripts.has(command);
    return withStores((storeEnv) => run(process.execPath, [script, ...args], storeEnv), { redis });
  }
  const commands = ["start", "test", ...Object.keys(storeScripts)].join(" | ");
  console.error(`usage: node scripts/bootstrap.mjs ${commands} [args]`);
  return 2;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
