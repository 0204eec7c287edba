import type { Handler } from "@taskflow/worker-sdk";

/** Returns its payload as the result. */
export const echo: Handler = (ctx) => Promise.resolve(ctx.payload);
