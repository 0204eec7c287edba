import type { JsonObject, JsonValue } from "@taskflow/worker-sdk";
import { PermanentError } from "@taskflow/worker-sdk";
import { intField, stringField } from "./payload-fields.js";

/** A webhook call as the `http` handler makes it. */
export interface Webhook {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: string | undefined;
  /** Timeout of the call alone, in ms; the attempt's own deadline applies anyway. */
  timeoutMs: number | undefined;
}

const methods: ReadonlySet<string> = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
const maxTimeoutMs = 3_600_000;

/**
 * Reads `{ method = "POST", url, headers?, body?, timeout_ms? }`. A string body is sent as is; any
 * other JSON body is serialised and sent as `application/json` unless headers name a type.
 * @throws PermanentError on a bad payload: retrying cannot fix it.
 */
export function parseWebhook(payload: JsonObject): Webhook {
  const method = stringField(payload, "method", "POST").toUpperCase();
  if (!methods.has(method)) throw new PermanentError(`payload.method must be one of ${[...methods].join(", ")}`);
  const url = parseUrl(stringField(payload, "url"));
  const headers = parseHeaders(payload["headers"]);
  const body = encodeBody(payload["body"], headers);
  if (body !== undefined && (method === "GET" || method === "HEAD")) {
    throw new PermanentError(`payload.body is not allowed with ${method}`);
  }
  const timeoutMs =
    payload["timeout_ms"] === undefined ? undefined : intField(payload, "timeout_ms", { min: 1, max: maxTimeoutMs });
  return { method, url, headers, body, timeoutMs };
}

/** The URL as shown in errors: without query or credentials, which often carry secrets. */
export const shownUrl = (url: URL): string => `${url.origin}${url.pathname}`;

function parseUrl(raw: string): URL {
  const url = URL.canParse(raw) ? new URL(raw) : undefined;
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new PermanentError("payload.url must be an absolute http or https URL");
  }
  return url;
}

function parseHeaders(value: JsonValue | undefined): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new PermanentError("payload.headers must be an object of strings");
  }
  const headers: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (typeof v !== "string") throw new PermanentError("payload.headers must be an object of strings");
    headers[name.toLowerCase()] = v;
  }
  return headers;
}

function encodeBody(body: JsonValue | undefined, headers: Record<string, string>): string | undefined {
  if (body === undefined) return undefined;
  if (typeof body === "string") return body;
  headers["content-type"] ??= "application/json";
  return JSON.stringify(body);
}
