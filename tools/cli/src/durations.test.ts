import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "./durations.js";

describe("parseDuration", () => {
  it.each([
    ["500ms", 500],
    ["5s", 5_000],
    ["2m", 120_000],
    ["1h", 3_600_000],
    ["1d", 86_400_000],
    ["1.5h", 5_400_000],
    ["0s", 0],
    [" 30s ", 30_000],
  ])("reads %s as %d ms", (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(["", "5", "-5s", "5x", "s", "5 s", "1h30m", "5S", "1e3ms"])("refuses %j", (text) => expect(parseDuration(text)).toBeUndefined());
});

describe("formatDuration", () => {
  it.each([
    [850, "850ms"],
    [4_200, "4.2s"],
    [59_000, "59s"],
    [200_000, "3m 20s"],
    [3_600_000, "1h"],
    [18_120_000, "5h 2m"],
    [183_600_000, "2d 3h"],
  ])("writes %d ms as %s", (ms, text) => expect(formatDuration(ms)).toBe(text));
});
