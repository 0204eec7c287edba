import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "./create-logger.js";

function sink() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString("utf8")) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

describe("createLogger", () => {
  it("writes one JSON object per line with name, level label, ISO time and fields", () => {
    const { lines, stream } = sink();
    createLogger({ name: "scheduler" }, stream).info({ url: "http://127.0.0.1:50051" }, "listening");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ name: "scheduler", level: "info", msg: "listening", url: "http://127.0.0.1:50051" });
    expect(new Date(String(lines[0]?.time)).toISOString()).toBe(lines[0]?.time);
  });

  it("defaults to info and honours a quieter or louder level", () => {
    const { lines, stream } = sink();
    const info = createLogger({ name: "a" }, stream);
    info.debug("hidden");
    createLogger({ name: "b", level: "debug" }, stream).debug("shown");
    createLogger({ name: "c", level: "warn" }, stream).info("hidden");
    expect(lines.map((l) => l.msg)).toEqual(["shown"]);
  });

  it("serialises an err field with its message and stack", () => {
    const { lines, stream } = sink();
    createLogger({ name: "a" }, stream).error({ err: new Error("boom") }, "internal error");
    expect(lines[0]?.err).toMatchObject({ type: "Error", message: "boom", stack: expect.stringContaining("boom") });
  });

  it("refuses an unknown level", () => {
    expect(() => createLogger({ name: "a", level: "loud" })).toThrow();
  });
});

describe("createLogger keeps secrets out of its lines", () => {
  const payload = {
    headers: { Authorization: "Bearer s3cr3tvalue", "X-Api-Key": "k3yvalue", accept: "text/plain" },
    user: { password: "hunter2", name: "ann" },
    note: "findme",
  };

  it("masks secret-named keys of a payload, a result and headers at any depth", () => {
    const { lines, stream } = sink();
    const logger = createLogger({ name: "worker" }, stream);
    logger.info({ payload, result: { items: [{ accessToken: "t0ken" }] }, job_id: "j1" }, "job logged");
    const text = JSON.stringify(lines);
    for (const secret of ["s3cr3tvalue", "k3yvalue", "hunter2", "t0ken"]) expect(text).not.toContain(secret);
    expect(lines[0]).toMatchObject({
      payload: {
        headers: { Authorization: "[redacted]", "X-Api-Key": "[redacted]", accept: "text/plain" },
        user: { password: "[redacted]", name: "ann" },
        note: "findme",
      },
      result: { items: [{ accessToken: "[redacted]" }] },
      job_id: "j1",
    });
  });

  it("masks a child's bindings and the keys it is configured with", () => {
    const { lines, stream } = sink();
    const logger = createLogger({ name: "history", secretKeys: ["iban"] }, stream);
    logger.child({ hook: { customer_IBAN: "DE0012" } }).info({ password: "hunter2", billing: { iban: "DE0013" } }, "x");
    expect(JSON.stringify(lines)).not.toMatch(/DE001|hunter2/);
    expect(lines[0]).toMatchObject({ hook: { customer_IBAN: "[redacted]" }, password: "[redacted]", billing: { iban: "[redacted]" } });
  });

  it("censors request headers inside objects it does not walk", () => {
    const { lines, stream } = sink();
    class IncomingRequest {
      headers = { authorization: "Bearer s3cr3tvalue", cookie: "sid=c00kie", host: "h" };
    }
    createLogger({ name: "a" }, stream).warn({ req: new IncomingRequest() }, "request refused");
    expect(JSON.stringify(lines)).not.toMatch(/s3cr3tvalue|c00kie/);
    expect(lines[0]).toMatchObject({ req: { headers: { authorization: "[redacted]", cookie: "[redacted]", host: "h" } } });
  });
});
