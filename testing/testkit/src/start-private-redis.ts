import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { freePort } from "./free-port.js";

/** How long redis-server may take to accept connections, in ms. */
const START_TIMEOUT_MS = 10_000;

/** A redis-server of one test's own, which the test may kill without touching anyone else's data. */
export interface PrivateRedis {
  /** `redis://127.0.0.1:<port>`; the same across restarts. */
  url: string;
  /** Kills the server (SIGKILL) and starts an empty one on the same port: every key is lost. */
  restart(): Promise<void>;
  /** Stops the server for good and removes its folder. */
  stop(): Promise<void>;
}

/**
 * Starts `redis-server` (from PATH) on a free port of 127.0.0.1, with nothing persisted
 * (`--save "" --appendonly no`) so that a restart loses every key, and `noeviction`, as
 * TaskFlow requires. For faults the shared test server must never see (other test files use
 * it at the same time).
 * @throws Error when redis-server is missing or not ready within 10 s (with its last output).
 */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const dir = await mkdtemp(join(tmpdir(), "tf-redis-"));
  const port = await freePort();
  let child = await startServer(port, dir);
  const kill = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGKILL");
    await exited;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    restart: async () => {
      await kill();
      child = await startServer(port, dir);
    },
    stop: async () => {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function startServer(port: number, dir: string): Promise<ChildProcess> {
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""];
  args.push("--appendonly", "no", "--maxmemory-policy", "noeviction", "--daemonize", "no");
  const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  const killOnExit = (): void => void child.kill("SIGKILL");
  process.on("exit", killOnExit);
  child.once("exit", () => process.off("exit", killOnExit));
  try {
    await waitUntilReady(child);
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
  return child;
}

function waitUntilReady(child: ChildProcess): Promise<void> {
  const tail: string[] = [];
  return new Promise((resolve, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer);
      reject(new Error(`redis-server ${why}; its last output:\n${tail.join("\n")}`));
    };
    const timer = setTimeout(() => fail(`was not ready after ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      if (!line.includes("Ready to accept connections")) return;
      clearTimeout(timer);
      resolve();
    });
    child.once("exit", (code, signal) => fail(`exited (${signal ?? `code ${code}`})`));
    child.once("error", (err) => fail(`could not be started: ${err.message}`));
  });
}

