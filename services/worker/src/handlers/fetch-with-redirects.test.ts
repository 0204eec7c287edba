import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PermanentError, type JsonObject } from "@taskflow/worker-sdk";
import type { Agent } from "undici";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createGuardedAgent, type Resolve } from "./create-guarded-agent.js";
import { parseAllowlist } from "./destination-policy.js";
import { fetchWithRedirects, maxRedirects } from "./fetch-with-redirects.js";
import { parseWebhook } from "./parse-webhook.js";

interface Seen {
  host: string;
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
}

/** Every request either server received, in order. */
const seen: Seen[] = [];
/** The server webhooks may call, on 127.0.0.1. */
let allowed: Server;
/** A server on 127.0.0.2, a loopback address no allowlist below covers: it must never be called. */
let refused: Server;
let a: string;
let b: string;
const agents: Agent[] = [];

/** Answers `/redirect?status=&to=` with that redirect, `/chain/n` with one to `/chain/n-1` until 0. */
function listen(host: string): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x");
      const body = Buffer.concat(chunks).toString();
      seen.push({ host, method: req.method ?? "", path: url.pathname, headers: req.headers, body });
      const n = /^\/chain\/(\d+)$/.exec(url.pathname)?.[1];
      if (url.pathname === "/redirect") res.writeHead(Number(url.searchParams.get("status")), { location: url.searchParams.get("to") ?? "" });
      else if (n !== undefined && n !== "0") res.writeHead(302, { location: `/chain/${Number(n) - 1}` });
      else res.writeHead(200, { "content-type": "text/plain" });
      res.end("done");
    });
  });
  return new Promise((resolve) => server.listen(0, host, () => resolve(server)));
}

const origin = (s: Server, host: string) => `http://${host}:${(s.address() as AddressInfo).port}`;

beforeAll(async () => {
  [allowed, refused] = await Promise.all([listen("127.0.0.1"), listen("127.0.0.2")]);
  a = origin(allowed, "127.0.0.1");
  b = origin(refused, "127.0.0.2");
});

beforeEach(() => {
  seen.length = 0;
});

afterAll(async () => {
  await Promise.all(agents.map((agent) => agent.close()));
  for (const s of [allowed, refused]) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** Calls `payload` through a guarded agent allowing `allowTexts`, returning the answer's text or the error. */
async function call(payload: JsonObject, allowTexts: string[], resolve?: Resolve): Promise<string | Error> {
  const allow = parseAllowlist(allowTexts).entries;
  const dispatcher = createGuardedAgent(allow, resolve);
  agents.push(dispatcher);
  const signal = AbortSignal.timeout(10_000);
  try {
    const res = await fetchWithRedirects(parseWebhook(payload), { dispatcher, allow, signal });
    return `${res.status} ${await res.text()}`;
  } catch (err) {
    return err as Error;
  }
}

const redirect = (status: number, to: string) => `${a}/redirect?status=${status}&to=${encodeURIComponent(to)}`;

describe("fetchWithRedirects", () => {
  it("refuses a redirect to an address the allowlist does not cover, without calling it", async () => {
    const err = await call({ url: redirect(302, `${b}/steal?token=secret`) }, ["127.0.0.1/32"]);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toBe(`HTTP handler refused 127.0.0.2: a loopback address (redirected from ${a}/redirect)`);
    expect(seen.map((s) => s.host)).toEqual(["127.0.0.1"]);
  });

  it("refuses a redirect from a host named exactly to its address by IP", async () => {
    const named = `http://localhost:${(allowed.address() as AddressInfo).port}`;
    const err = await call({ url: `${named}/redirect?status=307&to=${encodeURIComponent(`${a}/x`)}` }, ["localhost"]);
    expect((err as Error).message).toBe(`HTTP handler refused 127.0.0.1: a loopback address (redirected from ${named}/redirect)`);
    expect(seen).toHaveLength(1);
  });

  it(`follows ${maxRedirects} redirects and fails permanently on one more`, async () => {
    expect(await call({ method: "GET", url: `${a}/chain/${maxRedirects}` }, ["127.0.0.1"])).toBe("200 done");
    expect(seen.map((s) => s.path)).toEqual(["/chain/5", "/chain/4", "/chain/3", "/chain/2", "/chain/1", "/chain/0"]);
    seen.length = 0;
    const err = await call({ method: "GET", url: `${a}/chain/${maxRedirects + 1}?token=secret` }, ["127.0.0.1"]);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toBe(`too many redirects: more than ${maxRedirects} from ${a}/chain/6`);
    expect(seen).toHaveLength(maxRedirects + 1);
  });

  it("refuses a redirect to another scheme", async () => {
    const err = await call({ url: redirect(302, "file:///etc/passwd") }, ["127.0.0.1"]);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toBe(`redirect from ${a}/redirect is not to an http or https URL`);
  });

  it("turns a POST into a GET without body on 303, keeps it on 307", async () => {
    const payload = { body: { a: 1 }, headers: { "x-kept": "yes" } };
    expect(await call({ ...payload, url: redirect(303, "/end") }, ["127.0.0.1"])).toBe("200 done");
    expect(await call({ ...payload, url: redirect(307, "/end") }, ["127.0.0.1"])).toBe("200 done");
    const [, after303, , after307] = seen;
    expect(after303).toMatchObject({ method: "GET", path: "/end", body: "", headers: { "x-kept": "yes" } });
    expect(after303?.headers["content-type"]).toBeUndefined();
    expect(after307).toMatchObject({ method: "POST", path: "/end", body: '{"a":1}', headers: { "content-type": "application/json" } });
  });

  it("drops credentials on a redirect to another origin", async () => {
    const other = `http://localhost:${(allowed.address() as AddressInfo).port}/end`;
    const headers = { authorization: "Bearer t", cookie: "c=1", "x-kept": "yes" };
    expect(await call({ method: "GET", headers, url: redirect(302, other) }, ["127.0.0.1/32", "localhost"])).toBe("200 done");
    expect(seen[0]?.headers).toMatchObject({ authorization: "Bearer t", cookie: "c=1" });
    expect(seen[1]?.headers).toMatchObject({ host: new URL(other).host, "x-kept": "yes" });
    expect(seen[1]?.headers.authorization).toBeUndefined();
    expect(seen[1]?.headers.cookie).toBeUndefined();
  });
});

describe("createGuardedAgent", () => {
  const port = () => (allowed.address() as AddressInfo).port;

  it("refuses a host when any of its addresses is refused", async () => {
    const resolve: Resolve = (_host, _options, callback) =>
      callback(null, [{ address: "127.0.0.1", family: 4 }, { address: "127.0.0.2", family: 4 }]);
    const err = await call({ url: `http://hooks.test:${port()}/end` }, ["127.0.0.1/32"], resolve);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toBe("HTTP handler refused hooks.test: resolves to 127.0.0.2, a loopback address");
    expect(seen).toEqual([]);
  });

  it("resolves once and connects to the address it checked", async () => {
    const asked: string[] = [];
    // A rebinding resolver: a checked address first, a refused one on any later lookup.
    const resolve: Resolve = (host, _options, callback) => {
      asked.push(host);
      callback(null, [{ address: asked.length === 1 ? "127.0.0.1" : "127.0.0.2", family: 4 }]);
    };
    expect(await call({ method: "GET", url: `http://hooks.test:${port()}/end` }, ["127.0.0.1/32"], resolve)).toBe("200 done");
    expect(asked).toEqual(["hooks.test"]);
    expect(seen).toMatchObject([{ host: "127.0.0.1", headers: { host: `hooks.test:${port()}` } }]);
  });
});
