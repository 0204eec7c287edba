import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RegisterWorkerRequestSchema, RegisterWorkerResponse } from "@taskflow/proto";
import type { Logger } from "pino";
import { Backoff, sleep } from "./backoff.js";
import { isTransient, rpcTimeoutMs, type WorkerRpc } from "./worker-rpc.js";

/**
 * Registers the worker, retrying while the scheduler is unreachable (a worker often starts
 * before its scheduler). Gives up when `signal` aborts.
 * @throws ConnectError when the scheduler refuses the registration; the signal's reason on abort.
 */
export async function registerWorker(
  rpc: WorkerRpc,
  request: MessageInitShape<typeof RegisterWorkerRequestSchema>,
  signal: AbortSignal,
  logger: Logger,
): Promise<RegisterWorkerResponse> {
  const backoff = new Backoff(200, 5_000);
  for (;;) {
    signal.throwIfAborted();
    try {
      return await rpc.client.registerWorker(request, { timeoutMs: rpcTimeoutMs, signal });
    } catch (err) {
      signal.throwIfAborted();
      if (!isTransient(err)) throw err;
      const waitMs = backoff.next();
      logger.warn({ err, retry_in_ms: Math.round(waitMs) }, "register failed, retrying");
      await sleep(waitMs, signal);
    }
  }
}
