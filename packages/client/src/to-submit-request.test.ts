import { durationMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { toSubmitRequest } from "./to-submit-request.js";

describe("toSubmitRequest", () => {
  it("maps every field", () => {
    const runAt = new Date("2030-01-02T03:04:05.678Z");
    const req = toSubmitRequest({
      type: "email.send",
      payload: { to: "x" },
      queue: "mail",
      priority: 9,
      runAt,
      maxAttempts: 4,
      timeoutMs: 1500,
      idempotencyKey: "k",
    });
    expect(req).toMatchObject({ type: "email.send", payload: { to: "x" }, queue: "mail", priority: 9, maxAttempts: 4, idempotencyKey: "k" });
    expect(req.schedule?.case).toBe("runAt");
    expect(timestampMs(req.schedule?.value as never)).toBe(runAt.getTime());
    expect(durationMs(req.timeout as never)).toBe(1500);
  });

  it("sends a delay as a duration and leaves unset fields to the scheduler", () => {
    const req = toSubmitRequest({ type: "t", delayMs: 2500 });
    expect(req.schedule?.case).toBe("delay");
    expect(durationMs(req.schedule?.value as never)).toBe(2500);
    expect(req).toMatchObject({ payload: {}, queue: "", priority: 0, maxAttempts: undefined, timeout: undefined });
  });

  it("refuses runAt together with delayMs", () => {
    const err = (() => {
      try {
        toSubmitRequest({ type: "t", runAt: new Date(), delayMs: 1 });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
  });
});
