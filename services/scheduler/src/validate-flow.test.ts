import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { JobStatus, ParentFailurePolicy, SubmitJobRequestSchema } from "@taskflow/proto";
import { describe, expect, it } from "vitest";
import { verdictOf } from "./settle-children.js";
import { parseSubmitJob, parseSubmitJobs, type SubmitLimits } from "./validate.js";

const limits: SubmitLimits = { maxSubmitBatch: 100, maxPayloadBytes: 1_000, defaultTimeoutMs: 300_000 };
const STORED = "018f0000-0000-7000-8000-000000000001";
const batch = (...jobs: MessageInitShape<typeof SubmitJobRequestSchema>[]) =>
  jobs.map((j) => create(SubmitJobRequestSchema, { type: "t", ...j }));

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    const e = ConnectError.from(err);
    expect(e.code).toBe(Code.InvalidArgument);
    return e.rawMessage;
  }
  throw new Error("expected a refusal");
}

describe("parseSubmitJobs: depends_on and refs", () => {
  it("resolves refs to the batch's new ids, in either order, and keeps stored ids", () => {
    const jobs = parseSubmitJobs(batch({ dependsOn: ["b", STORED] }, { ref: "b" }), limits);
    expect(jobs[0]!.parentIds).toEqual([jobs[1]!.id, STORED]);
    expect(jobs[0]!.onParentFailure).toBe(ParentFailurePolicy.FAIL);
    expect(jobs[1]!.parentIds).toEqual([]);
    expect(jobs[1]!.onParentFailure).toBe(ParentFailurePolicy.UNSPECIFIED);
  });

  it("keeps a policy given", () => {
    const [job] = parseSubmitJobs(batch({ dependsOn: [STORED], onParentFailure: ParentFailurePolicy.RUN }), limits);
    expect(job!.onParentFailure).toBe(ParentFailurePolicy.RUN);
  });

  it("accepts a diamond (two paths to one parent are no cycle)", () => {
    const jobs = parseSubmitJobs(batch({ ref: "a" }, { ref: "b", dependsOn: ["a"] }, { ref: "c", dependsOn: ["a"] }, { dependsOn: ["b", "c"] }), limits);
    expect(jobs[3]!.parentIds).toEqual([jobs[1]!.id, jobs[2]!.id]);
  });

  it.each([
    ["a cycle of three", batch({ ref: "a", dependsOn: ["c"] }, { ref: "b", dependsOn: ["a"] }, { ref: "c", dependsOn: ["b"] }), /cycle/],
    ["a job on itself", batch({ ref: "a", dependsOn: ["a"] }), /jobs\[0\]\.depends_on\[0\]: a job cannot depend on itself/],
    ["an unknown ref", batch({ dependsOn: ["x"] }), /jobs\[0\]\.depends_on\[0\]: "x" is neither/],
    ["a ref used twice", batch({ ref: "a" }, { ref: "a" }), /jobs\[1\]\.ref: "a" is the ref of jobs\[0\]\.ref too/],
    ["a bad ref", batch({ ref: "a b" }), /jobs\[0\]\.ref/],
    ["a parent twice", batch({ dependsOn: [STORED, STORED.toUpperCase()] }), /jobs\[0\]\.depends_on\[1\]: names a job named before/],
    ["33 parents", batch({ dependsOn: Array.from({ length: 33 }, (_, i) => `018f0000-0000-7000-8000-${String(i).padStart(12, "0")}`) }), /at most 32/],
    ["an unknown policy", batch({ dependsOn: [STORED], onParentFailure: 7 as ParentFailurePolicy }), /jobs\[0\]\.on_parent_failure/],
  ])("refuses %s", (_name, reqs, message) => {
    expect(refusal(() => parseSubmitJobs(reqs, limits))).toMatch(message);
  });

  it("refuses a ref in a single SubmitJob (it has no batch to name)", () => {
    expect(refusal(() => parseSubmitJob(batch({ dependsOn: ["other"] })[0]!, limits))).toMatch(/^depends_on\[0\]/);
  });
});

describe("verdictOf", () => {
  const link = (status: JobStatus) => ({ id: "p", type: "t", queue: "q", status }) as never;
  const job = (policy: ParentFailurePolicy, ...statuses: JobStatus[]) => ({ parents: statuses.map(link), onParentFailure: policy });

  it("waits while a parent is unfinished, runs when all completed", () => {
    expect(verdictOf(job(ParentFailurePolicy.RUN, JobStatus.FAILED, JobStatus.PROCESSING)).kind).toBe("wait");
    expect(verdictOf(job(ParentFailurePolicy.FAIL, JobStatus.COMPLETED, JobStatus.COMPLETED)).kind).toBe("run");
  });

  it("applies the policy when a parent failed or was cancelled", () => {
    expect(verdictOf(job(ParentFailurePolicy.FAIL, JobStatus.COMPLETED, JobStatus.CANCELLED)).kind).toBe("fail");
    expect(verdictOf(job(ParentFailurePolicy.UNSPECIFIED, JobStatus.FAILED)).kind).toBe("fail");
    expect(verdictOf(job(ParentFailurePolicy.CANCEL, JobStatus.FAILED)).kind).toBe("cancel");
    expect(verdictOf(job(ParentFailurePolicy.RUN, JobStatus.FAILED)).kind).toBe("run");
  });
});
