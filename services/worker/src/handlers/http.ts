import type { Handler, JsonValue } from "@taskflow/worker-sdk";
import { isPermanentError } from "@taskflow/worker-sdk";
import type { Response } from "undici";
import { createGuardedAgent } from "./create-guarded-agent.js";
import type { AllowEntry } from "./destination-policy.js";
import { fetchWithRedirects } from "./fetch-with-redirects.js";
import { parseWebhook, shownUrl, type Webhook } from "./parse-webhook.js";

/** Largest response body kept in the result, in bytes (64 KiB). */
export const maxBodyBytes = 64 * 1024;

/** Which destinations the http handler may call. */
export interface HttpHandlerOptions {
  /** HTTP_HANDLER_ALLOW, parsed; empty allows any public address (see checkAddress). */
  allow: readonly AllowEntry[];
}

/**
 * Creates the handler that calls a webhook (see parseWebhook) and returns
 * `{ status, headers, body }`, the body parsed as JSON when the response is JSON, else text cut to
 * 64 KiB. It connects only to destinations that `allow` permits (see destination-policy.ts),
 * checking each redirect's too, and stops with the attempt.
 * @throws Error "HTTP 503 from <url>" on a non-2xx answer, or when the call fails or times out;
 * PermanentError on a bad payload, a refused destination or too many redirects.
 */
export function createHttpHandler(options: HttpHandlerOptions): Handler {
  const dispatcher = createGuardedAgent(options.allow);
  return async (ctx) => {
    const hook = parseWebhook(ctx.payload);
    const timeout = hook.timeoutMs === undefined ? undefined : AbortSignal.timeout(hook.timeoutMs);
    const signal = timeout === undefined ? ctx.signal : AbortSignal.any([ctx.signal, timeout]);
    try {
      const res = await fetchWithRedirects(hook, { dispatcher, allow: options.allow, signal });
      if (!res.ok) {
        await res.body?.cancel();
        throw new Error(`HTTP ${res.status} from ${shownUrl(hook.url)}`);
      }
      return { status: res.status, headers: Object.fromEntries(res.headers), body: await readBody(res) };
    } catch (err) {
      throw explain(err, hook, ctx.signal, timeout);
    }
  };
}

/** Turns fetch's generic errors into ones that say what happened to which URL. */
function explain(err: unknown, hook: Webhook, attempt: AbortSignal, timeout: AbortSignal | undefined): unknown {
  if (attempt.aborted) return attempt.reason;
  if (isPermanentError(err)) return err;
  if (timeout?.aborted) return new Error(`HTTP request to ${shownUrl(hook.url)} timed out after ${hook.timeoutMs} ms`);
  if (err instanceof TypeError) {
    const cause = err.cause instanceof Error ? err.cause.message : err.message;
    return new Error(`HTTP request to ${shownUrl(hook.url)} failed: ${cause}`);
  }
  return err;
}

async function readBody(res: Response): Promise<JsonValue> {
  const { text, truncated } = await readLimited(res, maxBodyBytes);
  if (!truncated && /^application\/([\w.-]+\+)?json\b/i.test(res.headers.get("content-type") ?? "")) {
    try {
      return JSON.parse(text) as JsonValue;
    } catch {
      // A body that claims to be JSON but is not is still worth showing, as text.
    }
  }
  return text;
}

async function readLimited(res: Response, limit: number): Promise<{ text: string; truncated: boolean }> {
  if (res.body === null) return { text: "", truncated: false };
  // A fetch body is a byte stream; undici's types leave its chunk type open.
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size > limit) {
      // Stop downloading: the rest would be thrown away.
      await reader.cancel();
      break;
    }
  }
  const text = new TextDecoder().decode(Buffer.concat(chunks).subarray(0, limit));
  return { text, truncated: size > limit };
}
