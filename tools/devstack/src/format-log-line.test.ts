import { describe, expect, it } from "vitest";
import { formatLogLine, listeningUrl } from "./format-log-line.js";

describe("formatLogLine", () => {
  it("shows a service's pino line as level, message and its own fields", () => {
    const line = JSON.stringify({
      level: "info",
      time: "2025-01-01T00:00:00.000Z",
      pid: 1,
      hostname: "h",
      name: "worker",
      msg: "worker started",
      queues: ["default"],
      concurrency: 10,
    });
    expect(formatLogLine("worker", line)).toBe(
      'worker    | info worker started queues=["default"] concurrency=10',
    );
  });

  it("names pino's numeric levels and passes other lines through", () => {
    expect(formatLogLine("history", '{"level":50,"msg":"start failed"}')).toBe(
      "history   | error start failed",
    );
    expect(formatLogLine("history", "Error: boom")).toBe("history   | Error: boom");
  });
});

describe("listeningUrl", () => {
  it("reads the url of the listening line only", () => {
    expect(listeningUrl('{"msg":"listening","url":"http://127.0.0.1:1"}')).toBe("http://127.0.0.1:1");
    expect(listeningUrl('{"msg":"started","url":"http://127.0.0.1:1"}')).toBeUndefined();
    expect(listeningUrl("listening")).toBeUndefined();
  });
});
