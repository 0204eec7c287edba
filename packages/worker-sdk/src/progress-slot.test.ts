import { describe, expect, it } from "vitest";
import { ProgressSlot } from "./progress-slot.js";

describe("ProgressSlot", () => {
  it("offers the latest value until a heartbeat acknowledges it", () => {
    const slot = new ProgressSlot();
    expect(slot.pending()).toBeUndefined();
    slot.set(10, { step: 1 });
    slot.set(20, { step: 2 });
    const first = slot.pending();
    expect(first?.progress).toEqual({ percent: 20, details: { step: 2 } });
    // A heartbeat that failed acknowledged nothing: the value is offered again.
    expect(slot.pending()?.progress.percent).toBe(20);
    first!.ack();
    expect(slot.pending()).toBeUndefined();
  });

  it("keeps a value set while a heartbeat was in flight", () => {
    const slot = new ProgressSlot();
    slot.set(30);
    const inFlight = slot.pending();
    slot.set(40);
    inFlight!.ack();
    expect(slot.pending()?.progress.percent).toBe(40);
  });

  it("refuses a value out of range or too large, keeping the previous one", () => {
    const slot = new ProgressSlot();
    slot.set(5);
    expect(() => slot.set(101)).toThrow(RangeError);
    expect(() => slot.set(Number.NaN)).toThrow(/percent/);
    expect(() => slot.set(50, { s: "x".repeat(4096) })).toThrow(/4096 bytes/);
    expect(slot.pending()?.progress.percent).toBe(5);
  });

  it("sends what the handler reported, not later changes to its object", () => {
    const slot = new ProgressSlot();
    const details = { rows: 1 };
    slot.set(1, details);
    details.rows = 2;
    expect(slot.pending()?.progress.details).toEqual({ rows: 1 });
  });
});
