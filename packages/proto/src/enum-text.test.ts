import { describe, expect, it } from "vitest";
import { enumFromText, enumText } from "./enum-text.js";
import { JobEventType, JobEventTypeSchema, JobStatus, JobStatusSchema } from "./gen/taskflow/v1/job_pb.js";

describe("enumText and enumFromText", () => {
  it("name each value as the contract does, without the prefix, in lower case", () => {
    expect(JobStatusSchema.values.map((v) => enumText(JobStatusSchema, v.number))).toEqual([
      undefined, "pending", "processing", "completed", "failed", "cancelled",
    ]);
    expect(enumText(JobEventTypeSchema, JobEventType.RETRY_SCHEDULED)).toBe("retry_scheduled");
  });

  it("read a stored text back, in either case, and unknown text as UNSPECIFIED", () => {
    for (const v of JobEventTypeSchema.values.filter((e) => e.number !== 0)) {
      expect(enumFromText(JobEventTypeSchema, enumText(JobEventTypeSchema, v.number)!)).toBe(v.number);
    }
    expect(enumFromText(JobEventTypeSchema, "LEASE_EXPIRED")).toBe(JobEventType.LEASE_EXPIRED);
    expect(enumFromText(JobStatusSchema, "exploded")).toBe(JobStatus.UNSPECIFIED);
    expect(enumFromText(JobStatusSchema, "unspecified")).toBe(JobStatus.UNSPECIFIED);
    expect(enumText(JobStatusSchema, 99)).toBeUndefined();
  });
});
