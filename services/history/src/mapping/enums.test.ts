import { JobEventType, JobStatus, WorkerStatus } from "@taskflow/proto";
import { describe, expect, it } from "vitest";
import { eventTypeEnum, eventTypeText, jobStatusEnum, jobStatusText, storedWorkerStatus, workerStatusEnum } from "./enums.js";

const values = <E extends number>(e: Record<string, string | E>): E[] =>
  Object.values(e).filter((v): v is E => typeof v === "number");

describe("enum mapping", () => {
  it("maps every job status but UNSPECIFIED to text and back", () => {
    for (const s of values(JobStatus).filter((s) => s !== JobStatus.UNSPECIFIED)) {
      const text = jobStatusText(s);
      expect(text).toBeDefined();
      expect(jobStatusEnum(text as NonNullable<typeof text>)).toBe(s);
    }
    expect(jobStatusText(JobStatus.UNSPECIFIED)).toBeUndefined();
    expect(jobStatusText(99 as JobStatus)).toBeUndefined();
    expect(jobStatusText(JobStatus.PROCESSING)).toBe("processing");
  });

  it("maps every event type but UNSPECIFIED to text and back", () => {
    for (const t of values(JobEventType).filter((t) => t !== JobEventType.UNSPECIFIED)) {
      const text = eventTypeText(t);
      expect(text).toBeDefined();
      expect(eventTypeEnum(text as NonNullable<typeof text>)).toBe(t);
    }
    expect(eventTypeText(JobEventType.UNSPECIFIED)).toBeUndefined();
    expect(eventTypeText(JobEventType.RETRY_SCHEDULED)).toBe("retry_scheduled");
    expect(eventTypeText(JobEventType.LEASE_EXPIRED)).toBe("lease_expired");
  });

  it("stores only departure of a worker, and reports derived health", () => {
    expect(storedWorkerStatus(WorkerStatus.GONE)).toBe("gone");
    expect(storedWorkerStatus(WorkerStatus.HEALTHY)).toBe("healthy");
    expect(storedWorkerStatus(WorkerStatus.STALE)).toBe("healthy");
    expect(storedWorkerStatus(WorkerStatus.UNSPECIFIED)).toBe("healthy");
    expect(storedWorkerStatus(7 as WorkerStatus)).toBeUndefined();
    expect([workerStatusEnum("healthy"), workerStatusEnum("stale"), workerStatusEnum("gone")]).toEqual([
      WorkerStatus.HEALTHY,
      WorkerStatus.STALE,
      WorkerStatus.GONE,
    ]);
  });
});
