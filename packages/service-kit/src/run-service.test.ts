import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { captureLogs } from "../test/support.js";
import { ConfigError } from "./config-reader.js";
import { runServiceIn, superviseIn } from "./run-service.js";

/** A process stand-in: signals are delivered with `emit`, and `exited` resolves with the code. */
function fakeProcess() {
  const emitter = new EventEmitter();
  let exit!: (code: number) => void;
  const exited = new Promise<number>((r) => (exit = r));
  const codes: number[] = [];
  const stderr: string[] = [];
  const proc = {
    once: (event: "SIGTERM" | "SIGINT", listener: (signal: NodeJS.Signals) => void) => emitter.once(event, listener),
    exit: (code: number) => {
      codes.push(code);
      exit(code);
    },
    stderr: { write: (text: string) => stderr.push(text) },
  };
  return { proc, emitter, exited, codes, stderr };
}

function service() {
  let closes = 0;
  let started!: () => void;
  const up = new Promise<void>((r) => (started = r));
  return {
    up,
    closes: () => closes,
    start: () => {
      started();
      const close = (): Promise<void> => {
        closes++;
        return Promise.resolve();
      };
      return Promise.resolve({ close });
    },
  };
}

describe("superviseIn", () => {
  it.each(["SIGTERM", "SIGINT"] as const)("closes once on %s and exits 0", async (signal) => {
    const { proc, emitter, exited, codes } = fakeProcess();
    const svc = service();
    const { logger, lines } = captureLogs();
    superviseIn(proc, { logger, start: svc.start });
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
    superviseIn(proc, { logger, start: () => Promise.reject(new Error("EADDRINUSE")) });
    expect(await exited).toBe(1);
    expect(lines[0]).toMatchObject({ level: "fatal", msg: "start failed", err: { message: "EADDRINUSE" } });
  });

  it("closes a service whose start finishes after the signal", async () => {
    const { proc, emitter, exited } = fakeProcess();
    let finishStart!: () => void;
    let closed = false;
    const start = async () => {
      await new Promise<void>((r) => (finishStart = r));
      const close = (): Promise<void> => {
        closed = true;
        return Promise.resolve();
      };
      return { close };
    };
    superviseIn(proc, { logger: captureLogs().logger, start });
    emitter.emit("SIGTERM", "SIGTERM");
    finishStart();
    expect(await exited).toBe(0);
    expect(closed).toBe(true);
  });

  it("exits 1 when close fails", async () => {
    const { proc, emitter, exited } = fakeProcess();
    const { logger, lines } = captureLogs();
    const start = () => Promise.resolve({ close: () => Promise.reject(new Error("pool end failed")) });
    superviseIn(proc, { logger, start });
    emitter.emit("SIGTERM", "SIGTERM");
    expect(await exited).toBe(1);
    expect(lines.at(-1)).toMatchObject({ level: "error", msg: "shutdown failed", err: { message: "pool end failed" } });
  });
});

describe("runServiceIn", () => {
  const config = { logLevel: "silent", port: 0 };

  it("starts the service with its configuration and a logger at its level", async () => {
    const { proc, emitter, exited } = fakeProcess();
    const svc = service();
    const seen: unknown[] = [];
    runServiceIn(proc, {
      name: "kit",
      loadConfig: () => config,
      start: async (c, { logger }) => {
        seen.push(c, logger.level, logger.bindings());
        return svc.start();
      },
    });
    await svc.up;
    emitter.emit("SIGTERM", "SIGTERM");
    expect(await exited).toBe(0);
    expect(seen).toEqual([config, "silent", { name: "kit" }]);
    expect(svc.closes()).toBe(1);
  });

  it("writes a configuration error to stderr and exits 1 without starting", async () => {
    const { proc, exited, stderr } = fakeProcess();
    let starts = 0;
    runServiceIn(proc, {
      name: "kit",
      loadConfig: () => {
        throw new ConfigError("invalid configuration:\n  KIT_PORT: must be an integer, got \"x\"");
      },
      start: () => {
        starts++;
        return Promise.resolve({ close: () => Promise.resolve() });
      },
    });
    expect(await exited).toBe(1);
    expect([stderr, starts]).toEqual([['invalid configuration:\n  KIT_PORT: must be an integer, got "x"\n'], 0]);
  });

  it("lets any other error of loadConfig escape", () => {
    const { proc, codes } = fakeProcess();
    const start = () => Promise.resolve({ close: () => Promise.resolve() });
    const loadConfig = (): typeof config => {
      throw new TypeError("bug");
    };
    expect(() => runServiceIn(proc, { name: "kit", loadConfig, start })).toThrow(TypeError);
    expect(codes).toEqual([]);
  });
});
