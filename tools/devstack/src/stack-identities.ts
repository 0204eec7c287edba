import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, unwatchFile, watchFile, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** How a stack started with AUTH_TOKENS_FILE authenticates its own calls. */
export interface StackIdentities {
  /** Variables for every service: the tokens file they enforce, and the stack's own token files. */
  env: NodeJS.ProcessEnv;
  /** What `devstack start` prints about it. */
  summary: string;
  /** Stops following the operator's file and deletes the files made here. */
  close(): void;
}

/** Names of the identities the stack makes for itself when it is given none. */
export const STACK_SCHEDULER_NAME = "taskflow-stack-scheduler";
export const STACK_WORKER_NAME = "taskflow-stack-worker";

/**
 * With AUTH_TOKENS_FILE in `env`, the services enforce it, and the stack's own calls need
 * identities: the scheduler's towards history (role service) and the worker's towards the
 * scheduler (role worker). A token file given in HISTORY_TOKEN_FILE or SCHEDULER_TOKEN_FILE is
 * used as it is (its token must be in the operator's file); for one not given, the stack makes a
 * random token, and the services enforce the operator's file plus those lines, a file of their
 * own (mode 0600 in a private folder) that follows every change of the operator's file.
 * @returns undefined without AUTH_TOKENS_FILE (authentication stays off while every listener is on loopback).
 * @throws Error when the operator's tokens file cannot be read.
 */
export function prepareStackIdentities(env: NodeJS.ProcessEnv): StackIdentities | undefined {
  const operatorFile = env.AUTH_TOKENS_FILE?.trim();
  if (operatorFile === undefined || operatorFile === "") return undefined;
  const dir = mkdtempSync(join(tmpdir(), "taskflow-stack-auth-"));
  const made: string[] = [];
  const own = (variable: "HISTORY_TOKEN_FILE" | "SCHEDULER_TOKEN_FILE", role: string, name: string): string => {
    const given = env[variable]?.trim();
    if (given !== undefined && given !== "") return given;
    const token = randomBytes(24).toString("base64url");
    const file = join(dir, `${name}.token`);
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    made.push(`${token} ${role} ${name}`);
    return file;
  };
  const historyToken = own("HISTORY_TOKEN_FILE", "service", STACK_SCHEDULER_NAME);
  const schedulerToken = own("SCHEDULER_TOKEN_FILE", "worker", STACK_WORKER_NAME);
  const enforced = join(dir, "tokens");
  const write = (): void => {
    const text = readFileSync(operatorFile, "utf8");
    writeFileSync(enforced, `${text}\n# made by the stack for its own scheduler and worker\n${made.join("\n")}\n`, { mode: 0o600 });
  };
  try {
    write();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot read AUTH_TOKENS_FILE ${operatorFile}: ${(err as Error).message}`, { cause: err });
  }
  const follow = (): void => {
    try {
      write();
    } catch {
      // The services keep what they read last, and say so in their own logs once the file is back.
    }
  };
  watchFile(operatorFile, { interval: 500, persistent: false }, follow);
  const names = made.map((line) => line.split(" ")[2]).join(" and ");
  return {
    env: { AUTH_TOKENS_FILE: enforced, HISTORY_TOKEN_FILE: historyToken, SCHEDULER_TOKEN_FILE: schedulerToken },
    summary: `tokens from ${operatorFile}${made.length > 0 ? `, plus ${names} made for the stack's own calls` : ""}`,
    close: () => {
      unwatchFile(operatorFile, follow);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
