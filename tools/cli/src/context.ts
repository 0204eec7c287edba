import type { Command } from "commander";
import { createTaskFlowClient, type TaskFlowClient } from "@taskflow/client";
import { jsonDocument } from "./format.js";

/** Where the services listen when neither a flag nor the environment says (the quick start's ports). */
export const DEFAULT_SCHEDULER_URL = "http://127.0.0.1:50051";
export const DEFAULT_HISTORY_URL = "http://127.0.0.1:50052";

/** The global options, as commander gives them. */
export interface GlobalOptions {
  scheduler?: string;
  history?: string;
  token?: string;
  json?: boolean;
}

/** Where the services are and the token to send: flags first, then the environment, then the defaults. */
export interface Connection {
  schedulerUrl: string;
  historyUrl: string;
  token?: string;
}

/** Resolves the connection from the global options and `env` (TASKFLOW_SCHEDULER_URL, TASKFLOW_HISTORY_URL, TASKFLOW_TOKEN). */
export function resolveConnection(options: GlobalOptions, env: NodeJS.ProcessEnv): Connection {
  const pick = (flag: string | undefined, name: string): string | undefined => flag ?? (env[name] === "" ? undefined : env[name]);
  return {
    schedulerUrl: pick(options.scheduler, "TASKFLOW_SCHEDULER_URL") ?? DEFAULT_SCHEDULER_URL,
    historyUrl: pick(options.history, "TASKFLOW_HISTORY_URL") ?? DEFAULT_HISTORY_URL,
    token: pick(options.token, "TASKFLOW_TOKEN"),
  };
}

/** What every command gets: the client, whether to print JSON, and where to print. */
export interface Context {
  /** True with `--json`: print one JSON document instead of text. */
  json: boolean;
  /** Writes to stdout. */
  out(text: string): void;
  /** Writes to stderr. */
  err(text: string): void;
  /** Prints `value` as JSON with `--json`, else the text `render()` makes. */
  print(value: unknown, render: () => string): void;
  /** Runs `body` with a client, closing it after. */
  withClient<T>(body: (client: TaskFlowClient) => Promise<T>): Promise<T>;
}

/** The context of the command being run, from the global options on the root program. */
export function contextOf(command: Command): Context {
  const options = command.optsWithGlobals<GlobalOptions>();
  const json = options.json === true;
  const out = (text: string) => void process.stdout.write(text);
  return {
    json,
    out,
    err: (text) => void process.stderr.write(text),
    print: (value, render) => out(json ? jsonDocument(value) : render()),
    withClient: async (body) => {
      const connection = resolveConnection(options, process.env);
      const client = createTaskFlowClient(connection);
      try {
        return await body(client);
      } finally {
        await client.close();
      }
    },
  };
}
