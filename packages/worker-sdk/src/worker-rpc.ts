import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { Http2SessionManager, createConnectTransport } from "@connectrpc/connect-node";
import { credentialInterceptors, type ClientCredentials } from "@taskflow/client";
import { WorkerService } from "@taskflow/proto";

/** The WorkerService client of one worker and the HTTP/2 connection it owns. */
export interface WorkerRpc {
  client: Client<typeof WorkerService>;
  /** Drops the connection; calls still running fail with `canceled`. */
  close(): void;
}

/** Timeout of the short RPCs (register, heartbeat, report, release, deregister), in ms. */
export const rpcTimeoutMs = 10_000;

/**
 * Connects to the scheduler's WorkerService: the Connect protocol with binary messages over
 * HTTP/2, uncompressed (cheaper per call than gRPC in connect-node; the scheduler serves both).
 */
export function createWorkerRpc(schedulerUrl: string, credentials: ClientCredentials = {}): WorkerRpc {
  // Pings find a dead connection under a long poll in seconds rather than at the poll's end.
  const sessionManager = new Http2SessionManager(
    schedulerUrl,
    { pingIntervalMs: 15_000, pingTimeoutMs: 5_000 },
    credentials.tls,
  );
  const interceptors = credentialInterceptors(credentials);
  return {
    client: createClient(
      WorkerService,
      createConnectTransport({ baseUrl: schedulerUrl, httpVersion: "2", sessionManager, acceptCompression: [], interceptors }),
    ),
    close: () => sessionManager.abort(),
  };
}

const transientCodes: ReadonlySet<Code> = new Set([
  Code.Unavailable,
  Code.DeadlineExceeded,
  Code.ResourceExhausted,
  Code.Aborted,
  Code.Unknown,
]);

/** True when the same call may succeed later: the scheduler or the network is down or busy. */
export const isTransient = (err: unknown): boolean => transientCodes.has(ConnectError.from(err).code);

// The scheduler looked at the request and said no: the same request gets the same answer.
const refusalCodes: ReadonlySet<Code> = new Set([
  Code.InvalidArgument,
  Code.FailedPrecondition,
  Code.OutOfRange,
  Code.NotFound,
  Code.AlreadyExists,
  Code.PermissionDenied,
  Code.Unauthenticated,
  Code.Unimplemented,
]);

/**
 * True when the scheduler refused the call itself. Any other failure may have lost an answer
 * on the way (a connection cut under a call ends `canceled` or `internal` as well as
 * `unavailable`), so an idempotent call is worth sending again.
 */
export const isRefusal = (err: unknown): boolean => refusalCodes.has(ConnectError.from(err).code);

