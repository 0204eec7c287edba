import { toJson, type JsonValue, type MessageInitShape } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { JobStatus, ReportStatus, type JobReport, type ReportResultSchema, type WorkerService } from "@taskflow/proto";
import type { Deps } from "../deps.js";
import { invalidArgument } from "../errors.js";
import type { ReportInput, ReportOutcome } from "../redis/queue-store.js";
import { checkWorkerId, containsNul } from "../validate.js";
import { workerActor } from "../worker-actor.js";
import { groupByQueue, parseLeases, type PlacedLease } from "./lease-refs.js";

/** Longest error text kept, in characters; longer ones are cut (a report must not fail over its error). */
export const MAX_ERROR_LENGTH = 8_192;

type PlacedReport = PlacedLease & ReportInput;

/**
 * ReportJobs: records outcomes under their lease tokens, one script call per
 * queue, and answers per report in request order: ACCEPTED, DUPLICATE (already
 * recorded) or LEASE_LOST (another attempt owns the job; nothing changed).
 * @throws invalid_argument for a bad worker id, lease, missing outcome or oversized result.
 */
export const reportJobs =
  (d: Deps): ServiceImpl<typeof WorkerService>["reportJobs"] =>
  async (req, ctx) => {
    checkWorkerId(req.workerId);
    return { results: await recordReports(d, req.workerId, workerActor(ctx, req.workerId), req.reports) };
  };

/**
 * Records a worker's reports as ReportJobs does (DispatchJobs takes them too) and answers one
 * result per report, in their order.
 * @throws invalid_argument for a bad lease, missing outcome or oversized result, before anything is recorded.
 */
export async function recordReports(d: Deps, workerId: string, actor: string, jobReports: readonly JobReport[]): Promise<Result[]> {
  const reports = parseReports(jobReports, d.config.maxPayloadBytes);
  const results = new Array<Result>(reports.length);
  await Promise.all(
    [...groupByQueue(reports)].map(async ([queue, group]) => {
      const outcomes = await d.store.report(queue, workerId, group, actor);
      group.forEach((r, i) => (results[r.index] = { jobId: r.id, ...outcomes[i]! }));
      countOutcomes(d.metrics, queue, group, outcomes);
      // The script draws a retry's backoff: the timer reads when the earliest is due.
      if (group.some((r, i) => isRetry(r, outcomes[i]!))) d.dueTimer.delayed(queue);
    }),
  );
  if (reports.length > 0) d.eventsWritten();
  return results;
}

type Result = MessageInitShape<typeof ReportResultSchema>;

/** Counts the accepted reports of one queue by where they took their job, from the script's answer. */
function countOutcomes(m: Deps["metrics"], queue: string, reports: readonly ReportInput[], outcomes: readonly ReportOutcome[]): void {
  let completed = 0;
  let failed = 0;
  let retried = 0;
  reports.forEach((r, i) => {
    const o = outcomes[i]!;
    if (o.status !== ReportStatus.ACCEPTED) return;
    if (r.outcome === "completed") completed += 1;
    else if (o.jobStatus === JobStatus.FAILED) failed += 1;
    else if (isRetry(r, o)) retried += 1;
  });
  if (completed > 0) m.jobsCompleted.inc({ queue }, completed);
  if (failed > 0) m.jobsFailed.inc({ queue }, failed);
  if (retried > 0) m.jobsRetried.inc({ queue }, retried);
}

/** Whether an accepted failure left the job pending: it waits in the delayed set for its retry. */
function isRetry(report: ReportInput, outcome: ReportOutcome): boolean {
  return report.outcome === "failed" && outcome.status === ReportStatus.ACCEPTED && outcome.jobStatus === JobStatus.PENDING;
}

function parseReports(reports: readonly JobReport[], maxResultBytes: number): PlacedReport[] {
  const leases = parseLeases(
    reports.map((r) => r.lease),
    "reports",
    (i) => `reports[${i}].lease`,
  );
  return leases.map((lease, i) => {
    const outcome = reports[i]!.outcome;
    switch (outcome.case) {
      case "completed": {
        const json = resultJson(outcome.value.result === undefined ? null : toJson(ValueSchema, outcome.value.result));
        if (Buffer.byteLength(json, "utf8") > maxResultBytes) {
          throw invalidArgument(`reports[${i}].completed.result`, `must be at most ${maxResultBytes} bytes as JSON`);
        }
        return { ...lease, outcome: "completed", body: json, permanent: false };
      }
      case "failed":
        return { ...lease, outcome: "failed", body: cleanError(outcome.value.error), permanent: outcome.value.permanent };
      default:
        throw invalidArgument(`reports[${i}]`, "must be completed or failed");
    }
  });
}

/** JSON text of a result; NUL characters (which PostgreSQL refuses) become U+FFFD rather than failing the job. */
function resultJson(value: JsonValue): string {
  return JSON.stringify(containsNul(value) ? replaceNul(value) : value);
}

function replaceNul(value: JsonValue): JsonValue {
  if (typeof value === "string") return value.replaceAll("\u0000", "\uFFFD");
  if (Array.isArray(value)) return value.map(replaceNul);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replaceAll("\u0000", "\uFFFD"), replaceNul(v)]));
  }
  return value;
}

function cleanError(error: string): string {
  return error.slice(0, MAX_ERROR_LENGTH).replaceAll("\u0000", "\uFFFD");
}
