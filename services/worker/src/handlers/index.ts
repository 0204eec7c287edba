import type { Handler } from "@taskflow/worker-sdk";
import { echo } from "./echo.js";
import { fail } from "./fail.js";
import { flaky } from "./flaky.js";
import { http } from "./http.js";
import { sleep } from "./sleep.js";

/** The handlers the worker service ships, by job type. */
export const builtInHandlers = { echo, sleep, fail, flaky, http } as const satisfies Record<string, Handler>;

/** Name of a built-in handler, as WORKER_HANDLERS lists them. */
export type BuiltInHandlerName = keyof typeof builtInHandlers;

/** Every built-in handler name. */
export const builtInHandlerNames = Object.keys(builtInHandlers) as BuiltInHandlerName[];
