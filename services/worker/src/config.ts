import { hostname } from "node:os";
import { ConfigError, ConfigReader, DEFAULT_SECRET_PAYLOAD_KEYS, LOG_LEVELS, readCredentialFiles, readTlsFiles, readTracingConfig, type CredentialFiles, type TracingConfig } from "@taskflow/service-kit";
import { parseAllowlist, type AllowEntry } from "./handlers/destination-policy.js";
import { builtInHandlerNames, type BuiltInHandlerName } from "./handlers/index.js";

/** Settings of the worker service, read once from the environment. */
export interface WorkerConfig {
  /** Scheduler the worker leases from (SCHEDULER_URL). */
  readonly schedulerUrl: string;
  /** What the worker presents to the scheduler (SCHEDULER_TOKEN_FILE, SCHEDULER_CA_FILE, SCHEDULER_CERT_FILE, SCHEDULER_KEY_FILE). */
  readonly schedulerCredentials: CredentialFiles;
  /** Certificate and key of the health and metrics port (TLS_CERT_FILE, TLS_KEY_FILE); empty: in the clear. */
  readonly tls: { readonly certFile: string; readonly keyFile: string };
  /** Stable worker id (WORKER_ID, default hostname-pid). */
  readonly workerId: string;
  /** Queues to lease from, in order of preference (WORKER_QUEUES). */
  readonly queues: readonly string[];
  /** Jobs run at once (WORKER_CONCURRENCY). */
  readonly concurrency: number;
  /**
   * Built-in handlers enabled (WORKER_HANDLERS, default all of them; `http` only with
   * HTTP_HANDLER_ENABLED=true, because it calls any URL a job names).
   */
  readonly handlers: readonly BuiltInHandlerName[];
  /**
   * Destinations the `http` handler may call (HTTP_HANDLER_ALLOW, comma-separated host names,
   * `*.domain`, IPs and CIDRs). Empty allows public addresses only; see destination-policy.ts.
   */
  readonly httpAllow: readonly AllowEntry[];
  /** Interface of the health endpoint (WORKER_HOST). */
  readonly host: string;
  /** Port of the health endpoint (WORKER_PORT); 0 picks a free one. */
  readonly port: number;
  /** How long shutdown lets running jobs finish before handing them back, in ms (SHUTDOWN_GRACE_MS). */
  readonly shutdownGraceMs: number;
  /** Key names whose values are masked wherever a log line holds them, handlers' lines too (SECRET_PAYLOAD_KEYS). */
  readonly secretPayloadKeys: readonly string[];
  /** Pino level (LOG_LEVEL). */
  readonly logLevel: string;
  /** Where spans go (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME); no endpoint: tracing off. */
  readonly tracing: TracingConfig;
}

export const DEFAULT_SCHEDULER_URL = "http://127.0.0.1:50051";
export const DEFAULT_QUEUES = ["default"];
export const DEFAULT_CONCURRENCY = 10;
export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_PORT = 50053;
export const DEFAULT_SHUTDOWN_GRACE_MS = 25_000;
/** The `http` handler is off unless HTTP_HANDLER_ENABLED says otherwise. */
export const DEFAULT_HTTP_HANDLER_ENABLED = "false";

/**
 * Reads the worker's configuration.
 * @throws ConfigError listing every bad variable, including unknown names in WORKER_HANDLERS,
 * `http` listed there while HTTP_HANDLER_ENABLED is not `true`, and unreadable allowlist entries.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): WorkerConfig {
  const r = new ConfigReader(env);
  const { handlers, httpAllow, problems } = readHandlers(r);
  const config: WorkerConfig = {
    schedulerUrl: r.url("SCHEDULER_URL", DEFAULT_SCHEDULER_URL),
    schedulerCredentials: readCredentialFiles(r, "SCHEDULER"),
    tls: readTlsFiles(r),
    workerId: r.string("WORKER_ID", `${hostname()}-${process.pid}`),
    queues: r.list("WORKER_QUEUES", DEFAULT_QUEUES),
    concurrency: r.int("WORKER_CONCURRENCY", DEFAULT_CONCURRENCY, { min: 1, max: 1000 }),
    handlers,
    httpAllow,
    host: r.string("WORKER_HOST", DEFAULT_HOST),
    port: r.int("WORKER_PORT", DEFAULT_PORT, { min: 0, max: 65535 }),
    shutdownGraceMs: r.int("SHUTDOWN_GRACE_MS", DEFAULT_SHUTDOWN_GRACE_MS, { min: 0, max: 3_600_000 }),
    secretPayloadKeys: r.keyNames("SECRET_PAYLOAD_KEYS", DEFAULT_SECRET_PAYLOAD_KEYS),
    logLevel: r.oneOf("LOG_LEVEL", "info", LOG_LEVELS),
    tracing: readTracingConfig(r),
  };
  finish(r, problems);
  return Object.freeze(config);
}

/** WORKER_HANDLERS, HTTP_HANDLER_ENABLED and HTTP_HANDLER_ALLOW, with the problems WORKER_HANDLERS has. */
function readHandlers(r: ConfigReader): {
  handlers: BuiltInHandlerName[];
  httpAllow: AllowEntry[];
  problems: string[];
} {
  const listed = r.list("WORKER_HANDLERS", []);
  const httpEnabled = r.oneOf("HTTP_HANDLER_ENABLED", DEFAULT_HTTP_HANDLER_ENABLED, ["true", "false"]) === "true";
  const allow = parseAllowlist(r.list("HTTP_HANDLER_ALLOW", []));
  for (const problem of allow.problems) r.invalid("HTTP_HANDLER_ALLOW", problem);
  const problems = unknownHandlerProblems(listed);
  // Listing http by name without enabling it is a contradiction worth stopping for, not a silent drop.
  if (listed.includes("http") && !httpEnabled) {
    problems.push("WORKER_HANDLERS: http is listed but HTTP_HANDLER_ENABLED is not true");
  }
  const named = listed.length > 0 ? listed.filter(isBuiltIn) : [...builtInHandlerNames];
  const handlers = named.filter((name) => name !== "http" || httpEnabled);
  return { handlers, httpAllow: allow.entries, problems };
}

const isBuiltIn = (name: string): name is BuiltInHandlerName =>
  (builtInHandlerNames as readonly string[]).includes(name);

function unknownHandlerProblems(names: readonly string[]): string[] {
  const unknown = names.filter((n) => !isBuiltIn(n));
  if (unknown.length === 0) return [];
  return [`WORKER_HANDLERS: unknown handler ${unknown.join(", ")} (known: ${builtInHandlerNames.join(", ")})`];
}

/** Ends reading with the reader's problems and ours in one ConfigError. */
function finish(r: ConfigReader, extra: string[]): void {
  let problems = extra;
  try {
    r.done();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems = [...err.problems, ...extra];
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join("; ")}`, problems);
}
