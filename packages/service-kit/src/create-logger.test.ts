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
