#!/usr/bin/env node
import { prepareStackIdentities } from "./stack-identities.js";
import { startStack, type Stack } from "./start-stack.js";
import { welcomeText } from "./welcome-text.js";

const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * `devstack start`: runs the whole stack, the dashboard included, in the foreground until
 * SIGINT, SIGTERM or SIGHUP, then stops it in order and exits 0. Exits 1 when it cannot start,
 * or when a service stops on its own (after stopping the rest).
 */
async function start(): Promise<void> {
  // Read by the signal handlers before startStack resolves.
  let stack: Stack | undefined;
  const identities = prepareStackIdentities(process.env);
  let stopping = false;
  const shutdown = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.error("\nstopping TaskFlow…");
    await stack?.stop().catch((err: unknown) => {
      console.error(`stopping failed: ${String(err)}`);
      code = 1;
    });
    identities?.close();
    console.error(code === 0 ? "TaskFlow stopped" : "TaskFlow stopped, with errors");
    process.exit(code);
  };
  let interrupted = false;
  for (const signal of STOP_SIGNALS) {
    process.on(signal, () => {
      if (stack) return void shutdown(0);
      // Still starting: stop once it is up, or at once on a second signal (what has started
      // is killed as this process exits).
      if (interrupted) process.exit(130);
      interrupted = true;
    });
  }
  try {
    stack = await startStack({ echo: true, env: identities?.env, dashboard: true });
  } catch (err) {
    identities?.close();
    throw err;
  }
  if (interrupted) return shutdown(0);
  console.log(welcomeText(stack, identities?.summary));
  for (const service of stack.services) {
    service.child.once("exit", (code, signal) => {
      if (stopping) return;
      console.error(`${service.name} stopped on its own (${signal ?? `code ${code}`})`);
      void shutdown(1);
    });
  }
}

const command = process.argv[2] ?? "start";
if (command === "start") {
  start().catch((err: unknown) => {
    console.error(`TaskFlow did not start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
} else {
  console.error(`unknown command "${command}"; usage: devstack start`);
  process.exitCode = 2;
}
