import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { captureLogs } from "../test/support.js";
import { runServiceIn } from "./run-service.js";

/** A process stand-in: signals are delivered with `emit`, and `exited` resolves with the code. */
function fakeProcess() {
  const emitter = new EventEmitter();
  let exit!: (code: number) => void;
  const exited = new Promise<number>((r) => (exit = r));
  const codes: number[] = [];
  const proc = {
    once: (event: "SIGTERM" | "SIGINT", listener: (signal: NodeJS.Signals) => void) => emitter.once(event, listener),
    exit: (code: number) => {
      codes.push(code);
      exit(code);
    },
  };
  return { proc, emitter, exited, codes };
}

function service() {
  let closes = 0;
  let started!: () => void;
  const up = new Promise<void>((r) => (started = r));
  return {
    up,
    closes: () => closes,
    start: async () => {
      started();
      return { close: async () => void closes++ };
    },
  };
}

describe("runService", () => {
  it.each(["SIGTERM", "SIGINT"] as const)("closes once on %s and exits 0", async (signal) => {
    const { proc, emitter, exited, codes } = fakeProcess();
    const svc = service();
    const { logger, lines } = captureLogs();
    runServiceIn(proc, { logger, start: svc.start });
    await svc.up;
    emitter.emit(signal, signal);
    emitter.emit("SIGTERM", "SIGTERM");
    emitter.emit("SIGINT", "SIGINT");
    expect(await exited).toBe(0);
    expect([svc.closes(), codes]).toEqual([1, [0]]);
    expect(lines.map((l) => [l.msg, l.signal])).toEqual([
      ["shutting down", signal],
      ["stopped", undefined],
    ]);
  });

  it("logs a failed start and exits 1", async () => {
    const { proc, exited } = fakeProcess();
    const { logger, lines } = captureLogs();
    runServiceIn(proc, { logger, start: () => Promise.reject(new Error("EADDRINUSE")) });
    expect(await exited).toBe(1);
    expect(lines[0]).toMatchObject({ level: "fatal", msg: "start failed", err: { message: "EADDRINUSE" } });
  });

  it("closes a service whose start finishes after the signal", async () => {
    const { proc, emitter, exited } = fakeProcess();
    let finishStart!: () => void;
    let closed = false;
    const start = async () => {
      await new Promise<void>((r) => (finishStart = r));
      return { close: async () => void (closed = true) };
    };
    runServiceIn(proc, { logger: captureLogs().logger, start });
    emitter.emit("SIGTERM", "SIGTERM");
    finishStart();
    expect(await exited).toBe(0);
    expect(closed).toBe(true);
  });

  it("exits 1 when close fails", async () => {
    const { proc, emitter, exited } = fakeProcess();
    const { logger, lines } = captureLogs();
    const start = async () => ({ close: () => Promise.reject(new Error("pool end failed")) });
    runServiceIn(proc, { logger, start });
    emitter.emit("SIGTERM", "SIGTERM");
    expect(await exited).toBe(1);
    expect(lines.at(-1)).toMatchObject({ level: "error", msg: "shutdown failed", err: { message: "pool end failed" } });
  });
});
