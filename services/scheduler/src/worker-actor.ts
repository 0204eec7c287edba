import type { HandlerContext } from "@connectrpc/connect";
import { identityOf } from "@taskflow/service-kit";

/**
 * The actor audit events record for what a worker did: `worker:<name>` of the verified identity
 * that called, or `worker:<workerId>` with authentication off (the id the worker gave itself).
 */
export function workerActor(ctx: Pick<HandlerContext, "values">, workerId: string): string {
  const { name } = identityOf(ctx);
  return `worker:${name === "" ? workerId : name}`;
}
