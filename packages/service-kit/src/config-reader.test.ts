import { describe, expect, it } from "vitest";
import { ConfigError, ConfigReader } from "./config-reader.js";
import { LOG_LEVELS } from "./create-logger.js";

function failure(read: (c: ConfigReader) => void, env: Record<string, string | undefined>): ConfigError {
  const reader = new ConfigReader(env);
  read(reader);
  try {
    reader.done();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected done() to throw");
}

describe("ConfigReader", () => {
  it("returns defaults for unset and blank variables", () => {
    const c = new ConfigReader({ B: "", C: "   " });
    expect([c.string("A", "a"), c.int("B", 7), c.list("C", ["x"]), c.url("D", "http://h:1"), c.oneOf("E", "info", ["info", "debug"])]).toEqual([
      "a",
      7,
      ["x"],
      "http://h:1",
      "info",
    ]);
    expect(() => c.done()).not.toThrow();
  });

  it("parses set variables, trimming whitespace", () => {
    const c = new ConfigReader({
      HOST: " 0.0.0.0 ",
      PORT: "50051",
      NEG: "-5",
      QUEUES: " default, mail ,,reports ",
      URL: "redis://10.0.0.2:6379/1",
      LEVEL: "debug",
    });
    expect(c.string("HOST", "127.0.0.1")).toBe("0.0.0.0");
    expect(c.int("PORT", 1, { min: 0, max: 65535 })).toBe(50051);
    expect(c.int("NEG", 0)).toBe(-5);
    expect(c.list("QUEUES", ["x"])).toEqual(["default", "mail", "reports"]);
    expect(c.url("URL", "redis://127.0.0.1:6379")).toBe("redis://10.0.0.2:6379/1");
    expect(c.oneOf("LEVEL", "info", LOG_LEVELS)).toBe("debug");
    c.done();
  });

  it("reports every bad variable in one ConfigError", () => {
    const err = failure(
      (c) => {
        c.int("PORT", 50051, { min: 0, max: 65535 });
        c.int("LEASE_MS", 30000, { min: 1 });
        c.int("BATCH", 10, { max: 100 });
        c.int("FLOAT", 1);
        c.int("HUGE", 1);
        c.list("QUEUES", ["default"]);
        c.url("DATABASE_URL", "postgres://127.0.0.1/x");
        c.oneOf("LOG_LEVEL", "info", ["info", "debug"]);
        c.secret("TOKEN_SECRET", "", 16);
        c.string("FINE", "x");
        c.invalid("BOTH", "set one of A and B, not both");
      },
      {
        PORT: "70000",
        LEASE_MS: "0",
        BATCH: "101",
        FLOAT: "1.5",
        HUGE: "99999999999999999999",
        QUEUES: " , ",
        DATABASE_URL: "not a url:secret",
        LOG_LEVEL: "loud",
        TOKEN_SECRET: "short-secret",
        FINE: "ok",
      },
    );
    expect(err.problems).toEqual([
      "PORT: must be an integer from 0 to 65535, got 70000",
      "LEASE_MS: must be an integer of at least 1, got 0",
      "BATCH: must be an integer of at most 100, got 101",
      'FLOAT: must be an integer, got "1.5"',
      'HUGE: must be an integer, got "99999999999999999999"',
      "QUEUES: must list at least one item",
      "DATABASE_URL: must be an absolute URL",
      'LOG_LEVEL: must be one of info, debug, got "loud"',
      "TOKEN_SECRET: must be at least 16 characters",
      "BOTH: set one of A and B, not both",
    ]);
    expect(err.message).toBe(`invalid configuration: ${err.problems.join("; ")}`);
    expect(err.message).not.toContain("secret");
    expect(err).toBeInstanceOf(Error);
  });
});
