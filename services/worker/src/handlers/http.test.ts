import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { PermanentError } from "@taskflow/worker-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeContext } from "../../test/make-context.js";
import { parseAllowlist } from "./destination-policy.js";
import { createHttpHandler, maxBodyBytes } from "./http.js";

interface Seen {
  method: string;
  headers: IncomingMessage["headers"];
  body: string;
}

let server: Server;
let base: string;
let port: number;
const seen: Seen[] = [];

/** The handler as a deployment that allows its loopback webhook receiver configures it. */
const http = createHttpHandler({ allow: parseAllowlist(["127.0.0.1/32"]).entries });
/** The handler with no allowlist: public addresses only. */
const guarded = createHttpHandler({ allow: [] });

const routes: Record<string, (res: ServerResponse, req: Seen) => void> = {
  "/json": (res, req) => {
    res.writeHead(200, { "content-type": "application/json; charset=utf-8", "x-reply": "yes" });
    res.end(JSON.stringify({ method: req.method, body: req.body }));
  },
  "/text": (res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("hello");
  },
  "/big": (res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ filler: "x".repeat(maxBodyBytes * 2) }));
  },
  "/unavailable": (res) => {
    res.writeHead(503);
    res.end("try later");
  },
  "/hang": () => undefined,
};

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const request = { method: req.method ?? "", headers: req.headers, body: Buffer.concat(chunks).toString() };
      seen.push(request);
      (routes[new URL(req.url ?? "/", "http://x").pathname] ?? routes["/unavailable"]!)(res, request);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("http", () => {
  it("POSTs a JSON body as application/json and parses a JSON answer", async () => {
    const result = await http(makeContext({ url: `${base}/json`, body: { hello: "world" } }));
    expect(result).toMatchObject({
      status: 200,
      headers: { "x-reply": "yes", "content-type": "application/json; charset=utf-8" },
      body: { method: "POST", body: '{"hello":"world"}' },
    });
    expect(seen.at(-1)?.headers["content-type"]).toBe("application/json");
  });

  it("sends a string body and headers as given", async () => {
    const payload = { method: "put", url: `${base}/json`, body: "raw text", headers: { "X-Token": "t1", "Content-Type": "text/plain" } };
    const result = await http(makeContext(payload));
    expect(result).toMatchObject({ status: 200, body: { method: "PUT", body: "raw text" } });
    expect(seen.at(-1)?.headers).toMatchObject({ "x-token": "t1", "content-type": "text/plain" });
  });

  it("returns a text answer as text", async () => {
    expect(await http(makeContext({ method: "GET", url: `${base}/text` }))).toMatchObject({
      status: 200,
      body: "hello",
    });
  });

  it("cuts a large answer to 64 KiB of text", async () => {
    const result = (await http(makeContext({ method: "GET", url: `${base}/big` }))) as { body: unknown };
    expect(typeof result.body).toBe("string");
    expect(Buffer.byteLength(result.body as string)).toBe(maxBodyBytes);
  });

  it("fails the attempt, retryably, on a non-2xx answer", async () => {
    const err = await http(makeContext({ url: `${base}/unavailable?token=secret` })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(PermanentError);
    expect((err as Error).message).toBe(`HTTP 503 from ${base}/unavailable`);
  });

  it("gives up after timeout_ms", async () => {
    const started = performance.now();
    await expect(http(makeContext({ url: `${base}/hang`, timeout_ms: 100 }))).rejects.toThrow(
      `HTTP request to ${base}/hang timed out after 100 ms`,
    );
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it("stops when the attempt's signal aborts, with its reason", async () => {
    const controller = new AbortController();
    const reason = new Error("timed out after 50 ms");
    const running = http(makeContext({ url: `${base}/hang` }, { signal: controller.signal }));
    setTimeout(() => controller.abort(reason), 50);
    await expect(running).rejects.toBe(reason);
  });

  it("says which URL could not be reached", async () => {
    // Port 1 (tcpmux) has no listener on any machine the tests run on: connecting is refused.
    const url = "http://127.0.0.1:1/x";
    await expect(http(makeContext({ url }))).rejects.toThrow(`HTTP request to ${url} failed: `);
  });

  it.each([
    ["no url", {}],
    ["a relative url", { url: "/json" }],
    ["a non-http url", { url: "ftp://127.0.0.1/x" }],
    ["a bad method", { url: "http://127.0.0.1/x", method: "BREW" }],
    ["non-string headers", { url: "http://127.0.0.1/x", headers: { a: 1 } }],
    ["a GET with a body", { url: "http://127.0.0.1/x", method: "GET", body: "x" }],
    ["a bad timeout", { url: "http://127.0.0.1/x", timeout_ms: 0 }],
  ])("fails permanently on %s", async (_name, payload) => {
    await expect(http(makeContext(payload))).rejects.toBeInstanceOf(PermanentError);
  });
});

describe("http destinations", () => {
  // A receiver of its own: requests that earlier tests aborted may still reach the shared one late.
  let target: Server;
  let targetPort: number;
  /** Path of each request the receiver got. */
  const targetPaths: string[] = [];
  const targetHosts: string[] = [];

  beforeAll(async () => {
    target = createServer((req, res) => {
      targetPaths.push(req.url ?? "");
      targetHosts.push(req.headers.host ?? "");
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("hello");
    });
    await new Promise<void>((resolve) => target.listen(0, "127.0.0.1", resolve));
    targetPort = (target.address() as AddressInfo).port;
  });

  afterAll(async () => {
    target.closeAllConnections();
    await new Promise((resolve) => target.close(resolve));
  });

  /**
   * Runs the handler, expecting a refusal, and returns its message once an allowed request to the
   * receiver (sent after the refused one, so arriving after it) shows the refused one never came.
   */
  async function refusal(handler: typeof http, url: string): Promise<string> {
    targetPaths.length = 0;
    const err = await handler(makeContext({ url, body: { secret: 1 } })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    await http(makeContext({ method: "GET", url: `http://127.0.0.1:${targetPort}/barrier` }));
    expect(targetPaths).toEqual(["/barrier"]);
    return (err as Error).message;
  }

  it("refuses loopback by default, without sending anything", async () => {
    expect(await refusal(guarded, `http://127.0.0.1:${targetPort}/x?token=secret`)).toBe(
      "HTTP handler refused 127.0.0.1: a loopback address",
    );
  });

  it("refuses IPv6 loopback and IPv4-mapped loopback", async () => {
    expect(await refusal(guarded, `http://[::1]:${targetPort}/x`)).toBe("HTTP handler refused ::1: a loopback address");
    expect(await refusal(http, `http://[::1]:${targetPort}/x`)).toBe("HTTP handler refused ::1: a loopback address");
    expect(await refusal(guarded, `http://[::ffff:127.0.0.1]:${targetPort}/x`)).toBe(
      "HTTP handler refused ::ffff:7f00:1: a loopback address",
    );
  });

  it("refuses a host name that resolves to loopback", async () => {
    expect(await refusal(guarded, `http://localhost:${targetPort}/x`)).toMatch(
      /^HTTP handler refused localhost: resolves to (127\.0\.0\.1|::1), a loopback address$/,
    );
  });

  it("refuses a loopback address the allowlist does not cover", async () => {
    expect(await refusal(http, `http://127.0.0.2:${targetPort}/x`)).toBe("HTTP handler refused 127.0.0.2: a loopback address");
  });

  it("calls a host the allowlist names exactly", async () => {
    const named = createHttpHandler({ allow: parseAllowlist(["localhost"]).entries });
    expect(await named(makeContext({ url: `http://localhost:${targetPort}/named`, body: "hi" }))).toMatchObject({
      status: 200,
      body: "hello",
    });
    expect([targetPaths.at(-1), targetHosts.at(-1)]).toEqual(["/named", `localhost:${targetPort}`]);
  });

  it("calls an allowlisted IPv4-mapped address as its IPv4 form", async () => {
    expect(await http(makeContext({ method: "GET", url: `http://[::ffff:127.0.0.1]:${targetPort}/mapped` }))).toMatchObject({
      status: 200,
      body: "hello",
    });
    expect(targetPaths.at(-1)).toBe("/mapped");
  });
});
