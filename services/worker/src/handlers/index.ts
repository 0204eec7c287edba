import type { Handler } from "@taskflow/worker-sdk";
import type { AllowEntry } from "./destination-policy.js";
import { echo } from "./echo.js";
import { fail } from "./fail.js";
import { flaky } from "./flaky.js";
import { createHttpHandler } from "./http.js";
import { sleep } from "./sleep.js";

/** Every built-in handler name, as WORKER_HANDLERS lists them. */
export const builtInHandlerNames = ["echo", "sleep", "fail", "flaky", "http"] as const;

/** Name of a built-in handler. */
export type BuiltInHandlerName = (typeof builtInHandlerNames)[number];

/** What the built-in handlers need from the configuration. */
export interface BuiltInHandlerOptions {
  /** Destinations the `http` handler may call (HTTP_HANDLER_ALLOW). */
  httpAllow: readonly AllowEntry[];
}

const makers: Record<BuiltInHandlerName, (options: BuiltInHandlerOptions) => Handler> = {
  echo: () => echo,
  sleep: () => sleep,
  fail: () => fail,
  flaky: () => flaky,
  http: (options) => createHttpHandler({ allow: options.httpAllow }),
};

/**
 * The named built-in handlers, by job type; only these are created, so a handler left out has no
 * state (the `http` handler's connection pool) and its type is never leased.
 */
export function createBuiltInHandlers(
  names: readonly BuiltInHandlerName[],
  options: BuiltInHandlerOptions,
): Record<string, Handler> {
  return Object.fromEntries(names.map((name) => [name, makers[name](options)]));
}
