import type { Logger } from "pino";
import type { ConfigReader } from "./config-reader.js";

/** Where a service sends its spans (the standard OpenTelemetry variables it reads). */
export interface TracingConfig {
  /**
   * Base URL of an OTLP/HTTP collector (OTEL_EXPORTER_OTLP_ENDPOINT, e.g. `http://otel:4318`);
   * spans go to `<endpoint>/v1/traces` as protobuf. Empty: tracing is off.
   */
  readonly otlpEndpoint: string;
  /** `service.name` of the spans (OTEL_SERVICE_NAME); empty: the service's own name. */
  readonly serviceName: string;
}

/** Every variable {@link readTracingConfig} reads. */
export const TRACING_VARIABLES = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME"] as const;

/** Tracing off: what a config built literally in a test holds. */
export const TRACING_OFF: TracingConfig = Object.freeze({ otlpEndpoint: "", serviceName: "" });

/** Reads OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_SERVICE_NAME; problems go to `r`. */
export function readTracingConfig(r: ConfigReader): TracingConfig {
  const otlpEndpoint = r.url("OTEL_EXPORTER_OTLP_ENDPOINT", "");
  if (otlpEndpoint !== "" && !/^https?:$/.test(new URL(otlpEndpoint).protocol)) {
    r.invalid("OTEL_EXPORTER_OTLP_ENDPOINT", "must be an http or https URL (OTLP over HTTP)");
  }
  return Object.freeze({ otlpEndpoint, serviceName: r.string("OTEL_SERVICE_NAME", "") });
}

/** What {@link startTracing} started: flush and stop it last, once the service has closed. */
export interface RunningTracing {
  shutdown(): Promise<void>;
}

/**
 * Registers the process's tracer provider when `config` names an endpoint: spans are batched and
 * exported over OTLP/HTTP with protobuf, with W3C trace context as the propagator and async
 * context tracking, so the kit's interceptors start creating spans. Resolves to undefined when
 * tracing is off; the SDK is then not even loaded, and every tracing hook of the kit stays a
 * property read (see activeTracer).
 */
export async function startTracing(config: TracingConfig | undefined, name: string, logger: Logger): Promise<RunningTracing | undefined> {
  if (config === undefined || config.otlpEndpoint === "") return undefined;
  const { registerTracerProvider } = await import("./tracing-sdk.js");
  const serviceName = config.serviceName === "" ? name : config.serviceName;
  const running = registerTracerProvider({ tracesUrl: tracesUrlOf(config.otlpEndpoint), serviceName }, logger.child({ component: "tracing" }));
  logger.info({ endpoint: config.otlpEndpoint, service_name: serviceName }, "tracing on");
  return running;
}

/** `<endpoint>/v1/traces`, as the OTLP exporter specification builds it from the base endpoint. */
export function tracesUrlOf(endpoint: string): string {
  return `${endpoint.replace(/\/+$/, "")}/v1/traces`;
}
