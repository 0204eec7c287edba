import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, ConfigReader } from "../config-reader.js";
import { isLoopback, readAuthConfig, startAuth } from "./auth-config.js";

const silent = pino({ level: "silent" });
const config = (env: Record<string, string>) => {
  const r = new ConfigReader(env);
  const c = readAuthConfig(r);
  r.done();
  return c;
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "taskflow-auth-config-"));
  await writeFile(join(dir, "tokens"), `${"t".repeat(20)} reader\n`);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("startAuth", () => {
  it("is off without a source while every listener is on loopback", () => {
    expect(startAuth(config({}), ["127.0.0.1", "::1", "localhost"], silent)).toBeUndefined();
  });

  it("refuses to listen beyond loopback without a source, naming what to set", () => {
    expect(() => startAuth(config({}), ["127.0.0.1", "0.0.0.0"], silent)).toThrow(ConfigError);
    expect(() => startAuth(config({}), ["0.0.0.0"], silent)).toThrow(/AUTH_TOKENS_FILE, AUTH_JWKS_FILE or TLS_CLIENT_CA_FILE, or AUTH_DISABLED=true/);
  });

  it("serves anyone beyond loopback only when AUTH_DISABLED=true says so", () => {
    expect(startAuth(config({ AUTH_DISABLED: "true" }), ["0.0.0.0"], silent)).toBeUndefined();
  });

  it("is on with a tokens file, on any listener", () => {
    const auth = startAuth(config({ AUTH_TOKENS_FILE: join(dir, "tokens") }), ["0.0.0.0"], silent);
    expect(auth).toBeDefined();
    auth?.close();
  });

  it("fails to start on a tokens file it cannot read", () => {
    expect(() => startAuth(config({ AUTH_TOKENS_FILE: join(dir, "missing") }), ["127.0.0.1"], silent)).toThrow(/cannot read/);
  });
});

describe("readAuthConfig", () => {
  it("needs an issuer and an audience with a JWKS file, and no source with AUTH_DISABLED", () => {
    expect(() => config({ AUTH_JWKS_FILE: "/x.json" })).toThrow(/AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE/);
    expect(() => config({ AUTH_DISABLED: "true", AUTH_TOKENS_FILE: "/t" })).toThrow(/AUTH_DISABLED/);
  });
});

describe("isLoopback", () => {
  it.each([
    ["127.0.0.1", true],
    ["127.8.9.10", true],
    ["::1", true],
    ["[::1]", true],
    ["localhost", true],
    ["0.0.0.0", false],
    ["::", false],
    ["10.0.0.5", false],
    ["example.com", false],
  ])("%s: %s", (host, loopback) => {
    expect(isLoopback(host)).toBe(loopback);
  });
});
