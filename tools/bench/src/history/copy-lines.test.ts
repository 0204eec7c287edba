import { describe, expect, it } from "vitest";
import { copyField, EVENT_COPY_COLUMNS, eventLines, JOB_COPY_COLUMNS, jobLine } from "./copy-lines.js";
import { generateJobs } from "./generate-jobs.js";

describe("copyField", () => {
  it("writes NULL as \\N and escapes what would split a line or a field", () => {
    expect(copyField(null)).toBe("\\N");
    expect(copyField(42)).toBe("42");
    expect(copyField("plain text")).toBe("plain text");
    expect(copyField("a\\b\tc\nd\re")).toBe("a\\\\b\\tc\\nd\\re");
    expect(copyField("\\N")).toBe("\\\\N");
  });
});

describe("jobLine and eventLines", () => {
  const plan = { seed: 3, jobs: 2_000, days: 1, endMs: Date.UTC(2030, 0, 2) };
  const jobs = [...generateJobs(plan)];

  it("write one line per job with a field per column", () => {
    for (const j of jobs.slice(0, 200)) {
      const line = jobLine(j);
      expect(line.endsWith("\n")).toBe(true);
      const fields = line.slice(0, -1).split("\t");
      expect(fields).toHaveLength(JOB_COPY_COLUMNS.length);
      expect(fields[0]).toBe(j.id);
      expect(JSON.parse(fields[3] as string)).toEqual(j.payload);
      expect(fields[14]).toBe(new Date(j.createdMs).toISOString());
    }
  });

  it("write one line per event with a field per column", () => {
    for (const j of jobs.slice(0, 200)) {
      const lines = eventLines(j).split("\n").slice(0, -1);
      expect(lines).toHaveLength(j.events.length);
      lines.forEach((line, i) => {
        const fields = line.split("\t");
        expect(fields).toHaveLength(EVENT_COPY_COLUMNS.length);
        expect(fields.slice(0, 3)).toEqual([j.id, String(i + 1), j.events[i]?.type]);
      });
    }
  });
});
