import { describe, expect, it } from "vitest";
import { DueSchedule, earliestDue, MAX_TIMER_MS, timerDelayMs } from "./due-schedule.js";

describe("DueSchedule", () => {
  it("keeps the earliest due time noted per queue", () => {
    const s = new DueSchedule();
    expect(s.note("a", 500)).toBe(true);
    expect(s.note("a", 700)).toBe(false);
    expect(s.note("a", 300)).toBe(true);
    expect(s.note("b", 400)).toBe(true);
    expect(s.headOf("a")).toBe(300);
    expect(s.earliest()).toBe(300);
    expect(s.dueBy(399).sort()).toEqual(["a"]);
    expect(s.dueBy(400).sort()).toEqual(["a", "b"]);
    expect(s.dueBy(299)).toEqual([]);
  });

  it("takes a read as the truth: a later head replaces an earlier one, an empty set drops the queue", () => {
    const s = new DueSchedule();
    s.note("a", 300);
    s.note("b", 400);
    const mark = s.mark();
    expect(s.applyRead("a", 900, mark)).toBe(false);
    expect(s.applyRead("b", undefined, mark)).toBe(false);
    expect(s.headOf("a")).toBe(900);
    expect(s.headOf("b")).toBeUndefined();
    expect(s.size).toBe(1);
    expect(s.applyRead("c", 50, mark)).toBe(true);
    expect(s.earliest()).toBe(50);
  });

  it("keeps a due time noted after the read was sent, which the read may not hold", () => {
    const s = new DueSchedule();
    s.note("a", 300);
    const mark = s.mark();
    // A job due at 600 arrives while the read (which saw only 300, now promoted) is in flight.
    s.note("a", 600);
    expect(s.applyRead("a", undefined, mark)).toBe(false);
    expect(s.headOf("a")).toBe(300);
    s.note("b", 800);
    expect(s.applyRead("b", 700, mark)).toBe(false);
    expect(s.headOf("b")).toBe(700);
    // A later read, sent after the notes, is the truth again.
    expect(s.applyRead("a", 600, s.mark())).toBe(false);
    expect(s.headOf("a")).toBe(600);
  });

  it("has no earliest due time when empty", () => {
    expect(new DueSchedule().earliest()).toBeUndefined();
  });
});

describe("timerDelayMs", () => {
  it("rounds up, never below zero or the floor", () => {
    expect(timerDelayMs(12.2)).toBe(13);
    expect(timerDelayMs(-40)).toBe(0);
    expect(timerDelayMs(3, 10)).toBe(10);
    expect(timerDelayMs(30, 10)).toBe(30);
  });

  it("clamps to the longest delay a Node timer honours", () => {
    expect(MAX_TIMER_MS).toBe(2_147_483_647);
    expect(timerDelayMs(365 * 86_400_000)).toBe(MAX_TIMER_MS);
    expect(timerDelayMs(Number.POSITIVE_INFINITY)).toBe(MAX_TIMER_MS);
    expect(timerDelayMs(Number.NaN)).toBe(MAX_TIMER_MS);
  });
});

describe("earliestDue", () => {
  const sent = 10_000;
  const now = 10_005;

  it("counts a delay from after the enqueue and takes a run time as it is", () => {
    expect(earliestDue([{ delayMs: 300, runAtMs: 0 }], sent, now)).toBe(10_305);
    expect(earliestDue([{ delayMs: 0, runAtMs: 12_000 }, { delayMs: 5_000, runAtMs: 0 }], sent, now)).toBe(12_000);
    expect(earliestDue([{ delayMs: 0, runAtMs: 20_000 }, { delayMs: 500, runAtMs: 0 }], sent, now)).toBe(10_505);
  });

  it("skips jobs that were ready at once", () => {
    expect(earliestDue([{ delayMs: 0, runAtMs: 0 }], sent, now)).toBeUndefined();
    // Due before the enqueue went out: ready.
    expect(earliestDue([{ delayMs: 0, runAtMs: 9_000 }, { delayMs: 0, runAtMs: sent }], sent, now)).toBeUndefined();
    // Due between sending and the answer: it may have been delayed, so it counts.
    expect(earliestDue([{ delayMs: 0, runAtMs: sent + 2 }], sent, now)).toBe(sent + 2);
    expect(earliestDue([], sent, now)).toBeUndefined();
  });
});
