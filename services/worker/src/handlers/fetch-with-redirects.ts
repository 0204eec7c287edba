import { fetch, type Dispatcher, type Response } from "undici";
import { PermanentError } from "@taskflow/worker-sdk";
import { checkHost, DestinationRefusedError, type AllowEntry } from "./destination-policy.js";
import { shownUrl, type Webhook } from "./parse-webhook.js";

/** Most redirects the http handler follows for one call. */
export const maxRedirects = 5;

/** How fetchWithRedirects calls out. */
export interface FetchOptions {
  /** Connects only to checked addresses (createGuardedAgent). */
  dispatcher: Dispatcher;
  allow: readonly AllowEntry[];
  signal: AbortSignal;
}

interface Hop {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

const redirectStatuses: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
/** Headers that describe a body, dropped when a redirect turns the request into a GET. */
const bodyHeaders = ["content-type", "content-encoding", "content-language", "content-location"];
/** Credentials that must not follow a redirect to another origin (the fetch standard drops authorization). */
const originHeaders = ["authorization", "cookie", "proxy-authorization"];

/**
 * Makes the webhook's request, following up to {@link maxRedirects} redirects itself so that
 * every hop's destination is checked before anything is sent to it.
 * @returns the first response that is not a redirect (a 3xx without Location included).
 * @throws DestinationRefusedError when a hop's destination is refused; PermanentError after too
 * many redirects or on a redirect to a URL that is not http(s); fetch's errors otherwise.
 */
export async function fetchWithRedirects(hook: Webhook, opts: FetchOptions): Promise<Response> {
  let hop: Hop = { url: hook.url, method: hook.method, headers: hook.headers, body: hook.body };
  let from: URL | undefined;
  for (let redirects = 0; ; redirects++) {
    const res = await send(hop, opts, from);
    const location = redirectStatuses.has(res.status) ? res.headers.get("location") : null;
    if (location === null) return res;
    await res.body?.cancel();
    if (redirects === maxRedirects) {
      throw new PermanentError(`too many redirects: more than ${maxRedirects} from ${shownUrl(hook.url)}`);
    }
    from = hop.url;
    hop = nextHop(hop, res.status, location);
  }
}

/** One request, its destination checked; `from` is the URL that redirected here. */
async function send(hop: Hop, opts: FetchOptions, from: URL | undefined): Promise<Response> {
  try {
    checkHost(hop.url.hostname, opts.allow);
    const { method, headers, body } = hop;
    return await fetch(hop.url, { method, headers, body, signal: opts.signal, dispatcher: opts.dispatcher, redirect: "manual" });
  } catch (err) {
    // The agent's lookup refuses a resolved address from inside fetch, which wraps it in a TypeError.
    const refusal = err instanceof DestinationRefusedError ? err : (err as { cause?: unknown }).cause;
    if (!(refusal instanceof DestinationRefusedError)) throw err;
    if (from === undefined) throw refusal;
    throw new DestinationRefusedError(`${refusal.message} (redirected from ${shownUrl(from)})`);
  }
}

function nextHop(hop: Hop, status: number, location: string): Hop {
  const url = URL.canParse(location, hop.url.href) ? new URL(location, hop.url) : undefined;
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new PermanentError(`redirect from ${shownUrl(hop.url)} is not to an http or https URL`);
  }
  const headers = { ...hop.headers };
  if (url.origin !== hop.url.origin) for (const name of originHeaders) delete headers[name];
  // As browsers do: 303 turns any method but HEAD into GET, 301 and 302 turn POST into GET.
  const toGet = (status === 303 && hop.method !== "HEAD") || ((status === 301 || status === 302) && hop.method === "POST");
  if (!toGet) return { url, method: hop.method, headers, body: hop.body };
  for (const name of bodyHeaders) delete headers[name];
  return { url, method: "GET", headers, body: undefined };
}
