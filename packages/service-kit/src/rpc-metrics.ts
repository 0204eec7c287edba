import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { Counter, Histogram, type Registry } from "prom-client";
import { callThen } from "./logging-interceptor.js";

/** Names of the RPC metrics, as go-grpc-prometheus names them, so its dashboards and alerts apply. */
export const RPC_METRIC_NAMES = {
  started: "grpc_server_started_total",
  handled: "grpc_server_handled_total",
  handlingSeconds: "grpc_server_handling_seconds",
} as const;

/**
 * Buckets of `grpc_server_handling_seconds`, in seconds: Prometheus' defaults (5 ms to 10 s),
 * then 30 s and 60 s, so that long polls (LeaseJobs waits up to 60 s) do not all land in +Inf.
 */
export const RPC_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** gRPC code names as grpc-go's `codes.Code.String()` spells them (what go-grpc-prometheus records). */
const CODE_NAMES: Readonly<Record<Code, string>> = {
  [Code.Canceled]: "Canceled",
  [Code.Unknown]: "Unknown",
  [Code.InvalidArgument]: "InvalidArgument",
  [Code.DeadlineExceeded]: "DeadlineExceeded",
  [Code.NotFound]: "NotFound",
  [Code.AlreadyExists]: "AlreadyExists",
  [Code.PermissionDenied]: "PermissionDenied",
  [Code.ResourceExhausted]: "ResourceExhausted",
  [Code.FailedPrecondition]: "FailedPrecondition",
  [Code.Aborted]: "Aborted",
  [Code.OutOfRange]: "OutOfRange",
  [Code.Unimplemented]: "Unimplemented",
  [Code.Internal]: "Internal",
  [Code.Unavailable]: "Unavailable",
  [Code.DataLoss]: "DataLoss",
  [Code.Unauthenticated]: "Unauthenticated",
};

/** `OK` for a call that ended without an error, else the gRPC name of its code (`InvalidArgument`). */
export function grpcCodeName(err?: unknown): string {
  if (err === undefined) return "OK";
  return CODE_NAMES[ConnectError.from(err).code] ?? "Unknown";
}

/** protobuf-es' method kinds, as go-grpc-prometheus' `grpc_type` label spells them. */
const GRPC_TYPES: Readonly<Record<string, string>> = {
  unary: "unary",
  server_streaming: "server_stream",
  client_streaming: "client_stream",
  bidi_streaming: "bidi_stream",
};

/** `unary`, `server_stream`, `client_stream` or `bidi_stream`. */
export const grpcType = (methodKind: string): string => GRPC_TYPES[methodKind] ?? methodKind;

type MethodLabel = "grpc_type" | "grpc_service" | "grpc_method";

interface RpcMetrics {
  started: Counter<MethodLabel>;
  handled: Counter<MethodLabel | "grpc_code">;
  seconds: Histogram<MethodLabel>;
}

/** The RPC metrics on `registry`, created once: a second server on the same registry shares them. */
function rpcMetricsOn(registry: Registry): RpcMetrics {
  const existing = registry.getSingleMetric(RPC_METRIC_NAMES.started);
  if (existing !== undefined) {
    return {
      started: existing as Counter<MethodLabel>,
      handled: registry.getSingleMetric(RPC_METRIC_NAMES.handled) as Counter<MethodLabel | "grpc_code">,
      seconds: registry.getSingleMetric(RPC_METRIC_NAMES.handlingSeconds) as Histogram<MethodLabel>,
    };
  }
  const labelNames = ["grpc_type", "grpc_service", "grpc_method"] as const;
  const registers = [registry];
  return {
    started: new Counter({ name: RPC_METRIC_NAMES.started, help: "RPCs started on the server", labelNames, registers }),
    handled: new Counter({
      name: RPC_METRIC_NAMES.handled,
      help: "RPCs completed on the server, whatever their outcome (streams when they end)",
      labelNames: [...labelNames, "grpc_code"],
      registers,
    }),
    seconds: new Histogram({
      name: RPC_METRIC_NAMES.handlingSeconds,
      help: "Time from the start of an RPC to its end (a stream's last message or failure), in seconds",
      labelNames,
      buckets: RPC_SECONDS_BUCKETS,
      registers,
    }),
  };
}

/**
 * Records every call on `registry` as go-grpc-prometheus does: `grpc_server_started_total` when
 * it starts, `grpc_server_handled_total` (with `grpc_code`) and `grpc_server_handling_seconds`
 * when it ends. A stream ends with its last message, its failure, or the client going away
 * (`Canceled`). It must run outside the error interceptor, which has turned every unexpected
 * failure into `Internal` by then. Requests refused before the interceptors run (a body that
 * does not decode, an unknown method) are not counted.
 */
export function createRpcMetricsInterceptor(registry: Registry): Interceptor {
  const m = rpcMetricsOn(registry);
  return (next) => async (req) => {
    const labels = { grpc_type: grpcType(req.method.methodKind), grpc_service: req.service.typeName, grpc_method: req.method.name };
    m.started.inc(labels);
    const endTimer = m.seconds.startTimer(labels);
    const finish = (err?: unknown): void => {
      endTimer();
      m.handled.inc({ ...labels, grpc_code: grpcCodeName(err) });
    };
    return callThen(next, req, finish);
  };
}
