import { describe, expect, it } from "vitest";
import { ConfigError, ConfigReader } from "./config-reader.js";
import { DEFAULT_SECRET_PAYLOAD_KEYS, isSecretKey, maskSecrets, REDACTED } from "./mask-secrets.js";

describe("isSecretKey", () => {
  it.each(["Authorization", "X-Api-Key", "client_secret", "accessToken", "PASSWORD", "passwd", "Set-Cookie", "private key", "aws_credentials"])(
    "takes %s for a secret with the default keys",
    (name) => expect(isSecretKey(name)).toBe(true),
  );

  it.each(["note", "url", "headers", "user", "content-type", "api", "key"])("leaves %s alone", (name) => {
    expect(isSecretKey(name)).toBe(false);
  });

  it("matches configured keys written in any case and with any separators", () => {
    expect(isSecretKey("customer_IBAN", ["iban"])).toBe(true);
    expect(isSecretKey("Session-Id", ["session_id"])).toBe(true);
    expect(isSecretKey("password", ["iban"])).toBe(false);
  });
});

describe("maskSecrets", () => {
  const payload = {
    headers: { Authorization: "Bearer s3cr3tvalue", "Content-Type": "application/json" },
    user: { name: "ann", password: "hunter2" },
    attempts: [{ token: { value: "t0k", expires: 3 } }, { note: "kept" }],
    note: "findme",
  };

  it("replaces the whole value of every secret-named key, at any depth and inside arrays", () => {
    expect(maskSecrets(payload)).toEqual({
      headers: { Authorization: REDACTED, "Content-Type": "application/json" },
      user: { name: "ann", password: REDACTED },
      attempts: [{ token: REDACTED }, { note: "kept" }],
      note: "findme",
    });
  });

  it("puts the replacement it is given, and leaves its input unchanged", () => {
    const before = structuredClone(payload);
    const masked = maskSecrets(payload, DEFAULT_SECRET_PAYLOAD_KEYS, null);
    expect(masked.user).toEqual({ name: "ann", password: null });
    expect(masked.attempts[0]).toEqual({ token: null });
    expect(payload).toEqual(before);
  });

  it("returns its input itself when nothing is secret, and shares the parts it did not change", () => {
    const clean = { a: [1, { b: "c" }], d: { e: null } };
    expect(maskSecrets(clean)).toBe(clean);
    const masked = maskSecrets(payload);
    expect(masked.attempts[1]).toBe(payload.attempts[1]);
    expect(maskSecrets("text")).toBe("text");
  });

  it("walks only plain objects and arrays", () => {
    const err = Object.assign(new Error("boom"), { token: "kept on the error" });
    expect(maskSecrets({ err }).err).toBe(err);
  });

  it("masks nothing with an empty key list", () => {
    expect(maskSecrets(payload, [])).toBe(payload);
  });

  it("fails closed on a cyclic object", () => {
    const loop: Record<string, unknown> = { a: 1 };
    loop["self"] = loop;
    let level = maskSecrets(loop);
    let depth = 0;
    while (typeof level["self"] === "object") {
      level = level["self"] as Record<string, unknown>;
      depth += 1;
    }
    expect([depth, level["self"]]).toEqual([64, REDACTED]);
  });
});

describe("ConfigReader.keyNames reading SECRET_PAYLOAD_KEYS", () => {
  const read = (value: string | undefined) => {
    const r = new ConfigReader({ SECRET_PAYLOAD_KEYS: value });
    const keys = r.keyNames("SECRET_PAYLOAD_KEYS", DEFAULT_SECRET_PAYLOAD_KEYS);
    r.done();
    return keys;
  };

  it("defaults to the documented list", () => {
    expect(read(undefined)).toBe(DEFAULT_SECRET_PAYLOAD_KEYS);
    expect(read(" ")).toBe(DEFAULT_SECRET_PAYLOAD_KEYS);
    expect(DEFAULT_SECRET_PAYLOAD_KEYS.join(",")).toBe(
      "authorization,password,passwd,secret,token,api_key,apikey,private_key,cookie,credential",
    );
  });

  it("reads a comma-separated list, trimmed, without empty items or repeats", () => {
    const keys = read(" IBAN, session-id ,,IBAN,token ");
    expect(keys).toEqual(["IBAN", "session-id", "token"]);
    expect(isSecretKey("customer_iban", keys)).toBe(true);
    expect(isSecretKey("password", keys)).toBe(false);
  });

  it("refuses a name that would match every key", () => {
    expect(() => read("token, -")).toThrow(ConfigError);
    expect(() => read("token, -")).toThrow(/SECRET_PAYLOAD_KEYS: .*"-"/);
  });
});
