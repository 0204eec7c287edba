import { pino, type DestinationStream, type Logger } from "pino";
import { DEFAULT_SECRET_PAYLOAD_KEYS, maskSecrets, REDACTED } from "./mask-secrets.js";
import { activeLogFields } from "./tracing.js";

/** Levels a service accepts in `LOG_LEVEL`, quietest last. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Service name, written as `name` on every line. */
  name: string;
  /** One of {@link LOG_LEVELS}; default `info`. */
  level?: string;
  /** Key names whose values never print (`SECRET_PAYLOAD_KEYS`); default {@link DEFAULT_SECRET_PAYLOAD_KEYS}. */
  secretKeys?: readonly string[];
}

/**
 * Fixed paths pino censors whatever {@link LoggerOptions.secretKeys} holds: credentials where HTTP
 * requests and their headers usually sit, also inside objects that are not plain (an
 * `IncomingMessage` as `req`), which the key-name masking does not walk.
 */
export const REDACT_PATHS: readonly string[] = Object.freeze([
  "authorization",
  "cookie",
  "password",
  "token",
  "secret",
  "headers.authorization",
  "headers.cookie",
  'headers["set-cookie"]',
  'headers["x-api-key"]',
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  "*.authorization",
  "*.cookie",
  "*.password",
  "*.token",
  "*.secret",
  "*.apiKey",
  "*.api_key",
  "*.accessToken",
  "*.refreshToken",
  "*.headers.authorization",
  "*.headers.cookie",
]);

/** Fields that hold job or request data, masked also where they are a child logger's bindings. */
export const MASKED_FIELDS: readonly string[] = Object.freeze(["payload", "result", "headers", "hook", "details"]);

/**
 * The root logger of a service: pino JSON lines on stdout, one object per line, with the level
 * as a label (`"level":"info"`) and an ISO timestamp, so log pipelines need no level table.
 * Components take a `child({ component })` of it.
 *
 * Secrets never print: the value of every secret-named key of a line's fields, at any depth (a
 * payload, a job's result, request headers), is written as `"[redacted]"` ({@link maskSecrets});
 * so is the same inside the {@link MASKED_FIELDS} of a child's bindings; and pino censors
 * {@link REDACT_PATHS}.
 *
 * While a span is active (an RPC's, a job's) every line carries its `trace_id` and `span_id`, so
 * a line leads to its trace and back, and lines logged while handling a traced call its
 * `procedure` (see activeLogFields); without tracing that is one lookup of the active context.
 *
 * @param destination where lines go instead of stdout (tests read them back).
 * @throws {Error} when `level` is not a pino level.
 */
export function createLogger(opts: LoggerOptions, destination?: DestinationStream): Logger {
  const secretKeys = opts.secretKeys ?? DEFAULT_SECRET_PAYLOAD_KEYS;
  const options = {
    name: opts.name,
    level: opts.level ?? "info",
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: activeLogFields,
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    // formatters.log sees a line's own fields only; serializers also see a child's bindings.
    serializers: Object.fromEntries(MASKED_FIELDS.map((f) => [f, (v: unknown) => maskSecrets(v, secretKeys)])),
    formatters: {
      level: (label: string) => ({ level: label }),
      log: (fields: Record<string, unknown>) => maskSecrets(fields, secretKeys),
    },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}

