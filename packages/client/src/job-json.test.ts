import { create, fromJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { JobSchema, JobStatus } from "@taskflow/proto";
import { describe, expect, it } from "vitest";
import { isTerminal, jobPayload, jobResult } from "./job-json.js";

describe("job helpers", () => {
  it("knows which statuses are terminal", () => {
    expect([JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED].every(isTerminal)).toBe(true);
    expect([JobStatus.UNSPECIFIED, JobStatus.PENDING, JobStatus.PROCESSING].some(isTerminal)).toBe(false);
  });

  it("gives payload and result as plain JSON", () => {
    const result = { n: 1, list: [true, null, "x"], nested: { a: 1.5 } };
    const job = create(JobSchema, { payload: { to: "a@b.c" }, result: fromJson(ValueSchema, result) });
    expect(jobPayload(job)).toEqual({ to: "a@b.c" });
    expect(jobResult(job)).toEqual(result);
  });

  it("gives {} for a missing payload and null for a missing result", () => {
    const job = create(JobSchema, {});
    expect(jobPayload(job)).toEqual({});
    expect(jobResult(job)).toBeNull();
  });
});
