import type { Handler } from "@taskflow/worker-sdk";

/** Returns its payload as the result. */
export const echo: Handler = async (ctx) => ctx.payload;
