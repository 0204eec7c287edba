import { randomUUID } from "node:crypto";
import { create, toBinary, type JsonObject } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, type Client } from "@connectrpc/connect";
import {
  GetJobRequestSchema,
  type HistoryIngestService,
  type HistoryService,
  JobEventType,
  JobStatus,
  ListJobsRequestSchema,
  type ParentFailurePolicy,
  type QueueService,
  type SchedulerService,
  type ScheduleService,
  StatsBucket,
  SubmitJobRequestSchema,
  type WorkerService,
  type WorkerStatus,
} from "@taskflow/proto";
import { patchBytes } from "@taskflow/testkit";
import { v7 as uuidv7 } from "uuid";

/** Clients of every service of a stack, over one protocol. */
export interface Clients {
  scheduler: Client<typeof SchedulerService>;
  worker: Client<typeof WorkerService>;
  history: Client<typeof HistoryService>;
  ingest: Client<typeof HistoryIngestService>;
  queues: Client<typeof QueueService>;
  schedules: Client<typeof ScheduleService>;
}

/** A bad request sent through generated clients: what it must fail with, and a word its message must hold. */
export interface TypedRow {
  name: string;
  send: (c: Clients) => Promise<unknown>;
  code: Code;
  says: string;
  /** Send it as binary over Connect too: its JSON form cannot even be written (e.g. a timestamp in year -300). */
  binaryOnly?: boolean;
}

/** A bad request as bytes no generated client would send, to one procedure. */
export interface RawRow {
  name: string;
  path: string;
  codec: "proto" | "json";
  body: Uint8Array | string;
  code: Code;
  says: string;
}

export type Row = TypedRow | RawRow;

export const SQL_METACHARACTERS = ["'; DROP TABLE jobs; --", "%", "_", "\\", "%%", "*", "' OR '1'='1"];

const MIB = 1024 * 1024;
const YEAR_MS = 365 * 86_400_000;
const LONE_SURROGATE = "\\ud800";

/** {"a":{"a":...{}}}, `depth` objects deep. */
export function nested(depth: number): JsonObject {
  let v: JsonObject = {};
  for (let i = 1; i < depth; i++) v = { a: v };
  return v;
}

const token = (after: unknown): string => Buffer.from(JSON.stringify({ after }), "utf8").toString("base64url");
const submitBytes = (init: Parameters<typeof create<typeof SubmitJobRequestSchema>>[1]) =>
  toBinary(SubmitJobRequestSchema, create(SubmitJobRequestSchema, init));
const lease = (over: object = {}) => ({ jobId: randomUUID(), queue: "default", leaseToken: "t", ...over });
const event = (over: object = {}) => ({
  jobId: randomUUID(),
  seq: 2,
  type: JobEventType.STARTED,
  status: JobStatus.PROCESSING,
  actor: "scheduler:test",
  occurredAt: timestampFromMs(Date.now()),
  ...over,
});
const newJob = (over: object = {}) => ({
  id: uuidv7(),
  type: "echo",
  queue: "default",
  maxAttempts: 3,
  scheduledAt: timestampFromMs(Date.now()),
  ...over,
});

/** A typed row expecting `invalid_argument` with a message mentioning `says`. */
const bad = (name: string, says: string, send: TypedRow["send"]): TypedRow => ({ name, says, send, code: Code.InvalidArgument });
/** A raw row expecting `invalid_argument` with a message mentioning `says`. */
const badBytes = (name: string, path: string, codec: RawRow["codec"], body: RawRow["body"], says: string): RawRow => ({
  name,
  path,
  codec,
  body,
  says,
  code: Code.InvalidArgument,
});
type SubmitInit = Parameters<Clients["scheduler"]["submitJob"]>[0];
const submit = (init: SubmitInit) => (c: Clients) => c.scheduler.submitJob({ type: "echo", ...init });
const registerWith = (over: object) => (c: Clients) => c.worker.registerWorker({ workerId: "w-bad", queues: ["q"], ...over });
const delay = (ms: number): SubmitInit => ({ schedule: { case: "delay", value: durationFromMs(ms) } });

const SUBMIT = "/taskflow.v1.SchedulerService/SubmitJob";
const CANCEL = "/taskflow.v1.SchedulerService/CancelJob";
const REGISTER = "/taskflow.v1.WorkerService/RegisterWorker";
const UNKNOWN_JOB = "018f0000-0000-7000-8000-00000000dead";

/** Bad requests to the scheduler: SchedulerService and WorkerService. */
export const schedulerRows: Row[] = [
  bad("empty type", "type", submit({ type: "" })),
  bad("type of 129 characters", "type", submit({ type: "t".repeat(129) })),
  bad("type with SQL in it", "type", submit({ type: SQL_METACHARACTERS[0] })),
  bad("queue named %", "queue", submit({ queue: "%" })),
  {
    name: "payload over MAX_PAYLOAD_BYTES",
    send: submit({ payload: { blob: "x".repeat(1.1 * MIB) } }),
    code: Code.ResourceExhausted,
    says: "payload",
  },
  {
    name: "request over the read limit (5 MiB)",
    send: submit({ payload: { blob: "x".repeat(5 * MIB) } }),
    code: Code.ResourceExhausted,
    says: "readMaxBytes",
  },
  bad("payload nested 40 deep", "payload", submit({ payload: nested(40) })),
  bad("payload nested past the decoder's limit", "recursion depth", submit({ payload: nested(120) })),
  bad("NUL in a payload string", "payload.note", submit({ payload: { note: "a\u0000b" } })),
  bad("NUL in a payload key", "payload key", submit({ payload: { "k\u0000": 1 } })),
  bad("negative delay", "delay", submit(delay(-1_000))),
  bad("delay of two years", "delay", submit(delay(2 * YEAR_MS))),
  bad("run_at two years ahead", "run_at", (c) =>
    submit({ schedule: { case: "runAt", value: timestampFromMs(Date.now() + 2 * YEAR_MS) } })(c),
  ),
  bad("max_attempts 0", "max_attempts", submit({ maxAttempts: 0 })),
  bad("max_attempts 2^31-1", "max_attempts", submit({ maxAttempts: 2 ** 31 - 1 })),
  bad("negative priority", "priority", submit({ priority: -1 })),
  bad("priority 1001", "priority", submit({ priority: 1001 })),
  bad("timeout of 500 ms", "timeout", submit({ timeout: durationFromMs(500) })),
  bad("idempotency_key of 257 characters", "idempotency_key", submit({ idempotencyKey: "k".repeat(257) })),
  bad("NUL in idempotency_key", "idempotency_key", submit({ idempotencyKey: "k\u0000" })),
  bad("empty batch", "jobs", (c) => c.scheduler.submitJobs({ jobs: [] })),
  bad("batch over MAX_SUBMIT_BATCH", "jobs", (c) =>
    c.scheduler.submitJobs({ jobs: Array.from({ length: 1001 }, () => ({ type: "echo" })) }),
  ),
  bad("batch with one bad job", "jobs[1].type", (c) => c.scheduler.submitJobs({ jobs: [{ type: "echo" }, { type: "" }] })),
  bad("depends_on naming an unknown ref", "depends_on[0]", submit({ dependsOn: ["nope"] })),
  bad("depends_on of 33 jobs", "depends_on", submit({ dependsOn: Array.from({ length: 33 }, (_, i) => `018f0000-0000-7000-8000-${String(i).padStart(12, "0")}`) })),
  bad("a job depending on its own ref", "jobs[0].depends_on[0]", (c) => c.scheduler.submitJobs({ jobs: [{ type: "echo", ref: "a", dependsOn: ["a"] }] })),
  bad("refs forming a cycle", "cycle", (c) =>
    c.scheduler.submitJobs({ jobs: [{ type: "echo", ref: "a", dependsOn: ["b"] }, { type: "echo", ref: "b", dependsOn: ["a"] }] }),
  ),
  bad("two jobs with one ref", "jobs[1].ref", (c) => c.scheduler.submitJobs({ jobs: [{ type: "echo", ref: "a" }, { type: "echo", ref: "a" }] })),
  bad("ref with a space", "ref", (c) => c.scheduler.submitJobs({ jobs: [{ type: "echo", ref: "a b" }] })),
  bad("on_parent_failure 9", "on_parent_failure", submit({ onParentFailure: 9 as ParentFailurePolicy })),
  {
    name: "depends_on an unknown job",
    send: submit({ dependsOn: [UNKNOWN_JOB] }),
    code: Code.NotFound,
    says: UNKNOWN_JOB,
  },
  bad("pause a queue named 'a b'", "name", (c) => c.queues.pauseQueue({ name: "a b" })),
  bad("resume a queue with an empty name", "name", (c) => c.queues.resumeQueue({ name: "" })),
  bad("limits with max_running -1", "limits.max_running", (c) => c.queues.setQueueLimits({ name: "q", limits: { maxRunning: -1 } })),
  bad("limits with max_starts and no window", "limits.per", (c) => c.queues.setQueueLimits({ name: "q", limits: { maxStarts: 5 } })),
  bad("limits with a window of 2 days", "limits.per", (c) =>
    c.queues.setQueueLimits({ name: "q", limits: { maxStarts: 5, per: durationFromMs(2 * 86_400_000) } }),
  ),
  bad("schedule named 'a b'", "schedule.id", (c) => c.schedules.createSchedule({ schedule: { id: "a b", spec: { case: "cron", value: "* * * * *" }, template: { type: "echo" } } })),
  bad("schedule without cron or interval", "schedule.spec", (c) => c.schedules.createSchedule({ schedule: { id: "s-bad", template: { type: "echo" } } })),
  bad("schedule with a 7-field cron", "schedule.cron", (c) =>
    c.schedules.createSchedule({ schedule: { id: "s-bad", spec: { case: "cron", value: "0 0 0 * * * 2030" }, template: { type: "echo" } } }),
  ),
  bad("schedule in an unknown time zone", "schedule.time_zone", (c) =>
    c.schedules.createSchedule({ schedule: { id: "s-bad", spec: { case: "cron", value: "0 3 * * *" }, timeZone: "Mars/Olympus", template: { type: "echo" } } }),
  ),
  bad("schedule every 10 ms", "schedule.interval", (c) =>
    c.schedules.createSchedule({ schedule: { id: "s-bad", spec: { case: "interval", value: durationFromMs(10) }, template: { type: "echo" } } }),
  ),
  bad("schedule with a template of priority 1001", "schedule.template.priority", (c) =>
    c.schedules.createSchedule({ schedule: { id: "s-bad", spec: { case: "cron", value: "0 3 * * *" }, template: { type: "echo", priority: 1001 } } }),
  ),
  bad("schedule catching up 100000 ticks", "schedule.catch_up", (c) =>
    c.schedules.createSchedule({ schedule: { id: "s-bad", spec: { case: "cron", value: "0 3 * * *" }, template: { type: "echo" }, catchUp: 100_000 } }),
  ),
  bad("update a schedule from a negative version", "expected_version", (c) =>
    c.schedules.updateSchedule({ schedule: { id: "s-bad", spec: { case: "cron", value: "0 3 * * *" }, template: { type: "echo" } }, expectedVersion: -1n }),
  ),
  bad("pause a schedule with an empty id", "id", (c) => c.schedules.pauseSchedule({ id: "" })),
  bad("trigger with a request id of 65 characters", "request_id", (c) => c.schedules.triggerSchedule({ id: "s-bad", requestId: "r".repeat(65) })),
  bad("list schedules with a forged page token", "page_token", (c) => c.schedules.listSchedules({ pageToken: "%%%" })),
  {
    name: "get an unknown schedule",
    send: (c) => c.schedules.getSchedule({ id: "s-unknown" }),
    code: Code.NotFound,
    says: "s-unknown",
  },
  bad("cancel with an empty id", "id", (c) => c.scheduler.cancelJob({ id: "" })),
  bad("cancel with SQL as id", "id", (c) => c.scheduler.cancelJob({ id: SQL_METACHARACTERS[0] })),
  {
    name: "cancel an unknown job",
    send: (c) => c.scheduler.cancelJob({ id: UNKNOWN_JOB }),
    code: Code.NotFound,
    says: UNKNOWN_JOB,
  },
  bad("cancel reason of 1025 characters", "reason", (c) => c.scheduler.cancelJob({ id: randomUUID(), reason: "r".repeat(1025) })),
  bad("NUL in a cancel reason", "reason", (c) => c.scheduler.cancelJob({ id: randomUUID(), reason: "r\u0000" })),
  bad("retry with an empty id", "id", (c) => c.scheduler.retryJob({ id: "" })),
  bad("retry with SQL as id", "id", (c) => c.scheduler.retryJob({ id: SQL_METACHARACTERS[0] })),
  { name: "retry an unknown job", send: (c) => c.scheduler.retryJob({ id: UNKNOWN_JOB }), code: Code.NotFound, says: UNKNOWN_JOB },
  bad("retry jobs of status COMPLETED", "statuses[0]", (c) => c.scheduler.retryJobs({ statuses: [JobStatus.COMPLETED] })),
  bad("retry jobs of status 99", "statuses[1]", (c) => c.scheduler.retryJobs({ statuses: [JobStatus.FAILED, 99 as JobStatus] })),
  bad("retry jobs of a queue named 'a b'", "queues[0]", (c) => c.scheduler.retryJobs({ queues: ["a b"] })),
  bad("retry jobs of an empty type", "types[0]", (c) => c.scheduler.retryJobs({ types: [""] })),
  bad("retry jobs with limit 1001", "limit", (c) => c.scheduler.retryJobs({ limit: 1001, dryRun: true })),
  bad("retry jobs with limit -1", "limit", (c) => c.scheduler.retryJobs({ limit: -1 })),
  bad("retry jobs with NUL in the text query", "text_query", (c) => c.scheduler.retryJobs({ textQuery: "a\u0000" })),
  bad("retry jobs with a finished range ending before it starts", "finished", (c) =>
    c.scheduler.retryJobs({ finished: { startTime: timestampFromMs(2_000), endTime: timestampFromMs(1_000) } }),
  ),
  bad("register with no queues", "queues", registerWith({ queues: [] })),
  bad("register a queue named 'a b'", "queues[0]", registerWith({ queues: ["a b"] })),
  bad("register with NUL in hostname", "hostname", registerWith({ hostname: "h\u0000" })),
  bad("register with negative concurrency", "concurrency", registerWith({ concurrency: -1 })),
  bad("lease with an empty worker_id", "worker_id", (c) => c.worker.leaseJobs({ workerId: "", queues: ["q"] })),
  bad("lease from no queue", "queues", (c) => c.worker.leaseJobs({ workerId: "w-bad", queues: [] })),
  bad("lease a job type named 'a b'", "job_types[1]", (c) => c.worker.leaseJobs({ workerId: "w-bad", queues: ["q"], jobTypes: ["ok", "a b"] })),
  bad("lease with a request id of 65 characters", "request_id", (c) =>
    c.worker.leaseJobs({ workerId: "w-bad", queues: ["q"], requestId: "r".repeat(65) }),
  ),
  bad("lease with SQL as request id", "request_id", (c) =>
    c.worker.leaseJobs({ workerId: "w-bad", queues: ["q"], requestId: SQL_METACHARACTERS[0] }),
  ),
  bad("heartbeat for a lease with a bad job id", "leases[0].job_id", (c) =>
    c.worker.heartbeat({ workerId: "w-bad", leases: [lease({ jobId: "%" })] }),
  ),
  bad("report with no outcome", "reports[0]", (c) => c.worker.reportJobs({ workerId: "w-bad", reports: [{ lease: lease() }] })),
  bad("release with an empty lease token", "leases[0].lease_token", (c) =>
    c.worker.releaseJobs({ workerId: "w-bad", leases: [lease({ leaseToken: "" })] }),
  ),
  bad("heartbeat with progress 101 %", "leases[0].progress", (c) =>
    c.worker.heartbeat({ workerId: "w-bad", leases: [lease({ jobId: uuidv7(), progress: { percent: 101 } })] }),
  ),
  bad("heartbeat with progress NaN", "leases[0].progress", (c) =>
    c.worker.heartbeat({ workerId: "w-bad", leases: [lease({ jobId: uuidv7(), progress: { percent: Number.NaN } })] }),
  ),
  bad("heartbeat with progress details over 4 KiB", "4096 bytes", (c) =>
    c.worker.heartbeat({ workerId: "w-bad", leases: [lease({ jobId: uuidv7(), progress: { percent: 1, details: { s: "x".repeat(4096) } } })] }),
  ),
  bad("deregister worker '%'", "worker_id", (c) => c.worker.deregisterWorker({ workerId: "%" })),
  badBytes(
    "invalid UTF-8 in type",
    SUBMIT,
    "proto",
    patchBytes(submitBytes({ type: "QQQQ" }), "QQQQ", [0x51, 0xff, 0xfe, 0x51]),
    "utf-8",
  ),
  badBytes(
    "invalid UTF-8 in a payload string",
    SUBMIT,
    "proto",
    patchBytes(submitBytes({ type: "echo", payload: { s: "QQQQ" } }), "QQQQ", [0xc3, 0x28, 0x51, 0x51]),
    "utf-8",
  ),
  badBytes("cut-short binary message", SUBMIT, "proto", Uint8Array.of(0x0a, 0x05, 0x65), "parse binary"),
  badBytes("lone surrogate in a payload string", SUBMIT, "json", `{"type":"echo","payload":{"s":"${LONE_SURROGATE}"}}`, "payload.s"),
  badBytes("unknown JSON field", SUBMIT, "json", '{"type":"echo","tpye":"echo"}', "tpye"),
  badBytes("number for a string field", SUBMIT, "json", '{"type":42}', "type"),
  badBytes("malformed JSON", SUBMIT, "json", '{"type":"echo"', "json"),
  badBytes("lone surrogate in a cancel reason", CANCEL, "json", `{"id":"${randomUUID()}","reason":"${LONE_SURROGATE}"}`, "reason"),
  badBytes(
    "lone surrogate in worker metadata",
    REGISTER,
    "json",
    `{"workerId":"w-bad","queues":["q"],"metadata":{"zone":"${LONE_SURROGATE}"}}`,
    "metadata",
  ),
];

const GET_JOB = "/taskflow.v1.HistoryService/GetJob";
const LIST_JOBS = "/taskflow.v1.HistoryService/ListJobs";
const APPEND = "/taskflow.v1.HistoryIngestService/AppendEvents";
const UPSERT = "/taskflow.v1.HistoryIngestService/UpsertWorkers";
const INSERT = "/taskflow.v1.HistoryIngestService/InsertJobs";
const UNKNOWN_ID = "018f0000-0000-7000-8000-00000000beef";
const insert = (over: object) => (c: Clients) => c.ingest.insertJobs({ jobs: [newJob(over)] });
const insertWithDigests = (requestDigests: string[]) => (c: Clients) => c.ingest.insertJobs({ jobs: [newJob({})], requestDigests });
const append = (over: object) => (c: Clients) => c.ingest.appendEvents({ events: [event(over)] });
const listJobs = (req: Parameters<Clients["history"]["listJobs"]>[0]) => (c: Clients) => c.history.listJobs(req);
const DAY = 86_400_000;
/** A time range from `startMs` to `endMs` relative to now. */
const range = (startMs: number, endMs: number) => {
  const now = Date.now();
  return { startTime: timestampFromDate(new Date(now + startMs)), endTime: timestampFromDate(new Date(now + endMs)) };
};
/** Reads a whole audit export, so an error the stream carries rejects. */
/** Reads a WatchJob stream to its end. */
const watch = async (c: Clients, jobId: string): Promise<number> => {
  let messages = 0;
  for await (const _ of c.history.watchJob({ jobId })) messages += 1;
  return messages;
};

/** Reads a WatchJobs stream until its first message (the watch is live), or its error. */
const watchJobs = async (c: Clients, req: Parameters<Clients["history"]["watchJobs"]>[0]): Promise<number> => {
  for await (const m of c.history.watchJobs(req)) return m.jobs.length;
  return 0;
};
/** A well-formed progress update of a random job, with `over` replacing job_id or progress fields. */
const progressUpdate = ({ jobId = uuidv7(), ...over }: { jobId?: string; percent?: number; details?: JsonObject; updatedAt?: undefined; attempt?: number }) => ({
  jobId,
  progress: { percent: 50, details: {}, updatedAt: timestampFromMs(Date.now()), attempt: 1, ...over },
});

const drain = (req: Parameters<Clients["history"]["exportAuditTrail"]>[0]) => async (c: Clients) => {
  let lines = 0;
  for await (const chunk of c.history.exportAuditTrail(req)) lines += chunk.events;
  return lines;
};
const binaryOf = <T extends Parameters<typeof create>[0]>(schema: T, init: Parameters<typeof create<T>>[1]) =>
  toBinary(schema, create(schema, init));

/** Bad requests to history: HistoryService and HistoryIngestService. */
export const historyRows: Row[] = [
  bad("insert with two digests for one job", "request_digests", insertWithDigests(["a", "b"])),
  bad("insert with a digest of 129 characters", "request_digests", insertWithDigests(["d".repeat(129)])),
  bad("unfinished jobs after an id that is not a UUID", "after_id", (c) =>
    c.ingest.listUnfinishedJobs({ createdBefore: timestampFromMs(Date.now()), afterId: SQL_METACHARACTERS[0] }),
  ),
  bad("unfinished jobs without created_before", "created_before", (c) => c.ingest.listUnfinishedJobs({})),
  bad("get with an empty id", "id", (c) => c.history.getJob({ id: "" })),
  bad("get with a malformed id", "id", (c) => c.history.getJob({ id: "not-a-uuid" })),
  bad("get with SQL as id", "id", (c) => c.history.getJob({ id: SQL_METACHARACTERS[0] })),
  bad("get with % as id", "id", (c) => c.history.getJob({ id: "%" })),
  { name: "get an unknown job", send: (c) => c.history.getJob({ id: UNKNOWN_ID }), code: Code.NotFound, says: UNKNOWN_ID },
  bad("list with page_size -1", "page_size", listJobs({ pageSize: -1 })),
  bad("list with page_size 501", "page_size", listJobs({ pageSize: 501 })),
  bad("list with a garbage page token", "page_token", listJobs({ pageToken: "garbage!!" })),
  bad("list with a token whose cursor is SQL", "page_token", listJobs({ pageToken: token(SQL_METACHARACTERS[0]) })),
  bad("list with another list's token", "page_token", listJobs({ pageToken: token(5) })),
  bad("list with status 99", "statuses", listJobs({ statuses: [99 as JobStatus] })),
  bad("list with status UNSPECIFIED", "statuses", listJobs({ statuses: [JobStatus.UNSPECIFIED] })),
  bad("list with NUL in a type filter", "types[0]", listJobs({ types: ["\u0000"] })),
  bad("list with NUL in a queue filter", "queues[1]", listJobs({ queues: ["ok", "a\u0000"] })),
  bad("events of a malformed id", "job_id", (c) => c.history.listJobEvents({ jobId: "%" })),
  {
    name: "events of an unknown job",
    send: (c) => c.history.listJobEvents({ jobId: UNKNOWN_ID }),
    code: Code.NotFound,
    says: UNKNOWN_ID,
  },
  bad("events with page_size 1001", "page_size", (c) => c.history.listJobEvents({ jobId: randomUUID(), pageSize: 1001 })),
  bad("events with a garbage page token", "page_token", (c) => c.history.listJobEvents({ jobId: randomUUID(), pageToken: "eHl6" })),
  bad("watch a malformed id", "job_id", (c) => watch(c, "%")),
  { name: "watch an unknown job", send: (c) => watch(c, UNKNOWN_ID), code: Code.NotFound, says: UNKNOWN_ID },
  bad("operator actions with page_size 501", "page_size", (c) => c.history.listOperatorActions({ pageSize: 501 })),
  bad("operator actions with a garbage page token", "page_token", (c) => c.history.listOperatorActions({ pageToken: "eHl6" })),
  bad("record no operator action", "actions", (c) => c.ingest.recordOperatorActions({ actions: [] })),
  bad("record an operator action without an actor", "actions[0].actor", (c) =>
    c.ingest.recordOperatorActions({ actions: [{ actor: "", action: "queue.pause", target: "q" }] }),
  ),
  bad("reopen no job", "ids", (c) => c.ingest.reopenJobs({ ids: [], actor: "api", action: { action: "job.retry", target: "t" } })),
  bad("reopen 1001 jobs", "ids", (c) =>
    c.ingest.reopenJobs({ ids: Array.from({ length: 1001 }, () => uuidv7()), actor: "api", action: { action: "job.retry", target: "t" } }),
  ),
  bad("reopen a malformed id", "ids[0]", (c) => c.ingest.reopenJobs({ ids: ["%"], actor: "api", action: { action: "job.retry", target: "t" } })),
  bad("reopen without an actor", "action.actor", (c) => c.ingest.reopenJobs({ ids: [uuidv7()], actor: "", action: { action: "job.retry", target: "t" } })),
  bad("reopen without an action", "action", (c) => c.ingest.reopenJobs({ ids: [uuidv7()], actor: "api" })),
  bad("record no progress", "updates", (c) => c.ingest.recordProgress({ updates: [] })),
  bad("record progress of a malformed job id", "updates[0].job_id", (c) => c.ingest.recordProgress({ updates: [progressUpdate({ jobId: "%" })] })),
  bad("record progress -1 %", "updates[0].progress", (c) => c.ingest.recordProgress({ updates: [progressUpdate({ percent: -1 })] })),
  bad("record progress without a time", "updated_at", (c) => c.ingest.recordProgress({ updates: [progressUpdate({ updatedAt: undefined })] })),
  bad("record progress of attempt 0", "attempt", (c) => c.ingest.recordProgress({ updates: [progressUpdate({ attempt: 0 })] })),
  bad("record progress with details over 4 KiB", "4096 bytes", (c) =>
    c.ingest.recordProgress({ updates: [progressUpdate({ details: { s: "x".repeat(4096) } })] }),
  ),
  bad("record progress of one job twice", "updates[1].job_id", (c) => {
    const u = progressUpdate({});
    return c.ingest.recordProgress({ updates: [u, u] });
  }),
  bad("watch jobs with status 99", "statuses", (c) => watchJobs(c, { statuses: [99 as JobStatus] })),
  bad("watch jobs of an empty queue name", "queues", (c) => watchJobs(c, { queues: [""] })),
  bad("watch a job by an id that is no UUID", "ids[0]", (c) => watchJobs(c, { ids: ["' OR 1=1 --"] })),
  bad("watch jobs by ids and a queue at once", "ids", (c) => watchJobs(c, { ids: ["0193a000-0000-7000-8000-000000000000"], queues: ["q"] })),
  bad("watch jobs of 101 types", "types", (c) => watchJobs(c, { types: Array.from({ length: 101 }, (_, i) => `t${i}`) })),
  bad("workers with page_size 501", "page_size", (c) => c.history.listWorkers({ pageSize: 501 })),
  bad("workers with page_size -5", "page_size", (c) => c.history.listWorkers({ pageSize: -5 })),
  bad("workers with a token holding NUL", "page_token", (c) => c.history.listWorkers({ pageToken: token("\u0000") })),
  bad("workers with status 99", "statuses", (c) => c.history.listWorkers({ statuses: [99 as WorkerStatus] })),
  bad("list with a created range ending before it starts", "created", listJobs({ created: range(DAY, -DAY) })),
  bad("list with a finished range of zero length", "finished", listJobs({ finished: range(0, 0) })),
  bad("list with attempts_above -1", "attempts_above", listJobs({ attemptsAbove: -1 })),
  bad("list with a text query of 501 characters", "text_query", listJobs({ textQuery: "a".repeat(501) })),
  bad("list with NUL in a text query", "text_query", listJobs({ textQuery: "a\u0000" })),
  bad("list with NUL in payload_contains", "payload_contains", listJobs({ payloadContains: { k: "\u0000" } })),
  bad("list with NUL in a worker filter", "worker_id", listJobs({ workerId: "w\u0000" })),
  bad("get a worker with an empty id", "id", (c) => c.history.getWorker({ id: "" })),
  { name: "get an unknown worker", send: (c) => c.history.getWorker({ id: "w-unknown" }), code: Code.NotFound, says: "w-unknown" },
  bad("stats without a window", "window", (c) => c.history.getStats({})),
  bad("stats over 367 days", "window", (c) => c.history.getStats({ window: range(-367 * DAY, 0) })),
  bad("stats with top_errors_limit 101", "top_errors_limit", (c) => c.history.getStats({ window: range(-DAY, 0), topErrorsLimit: 101 })),
  bad("stats with 1,501 minute buckets", "bucket", (c) =>
    c.history.getStats({ window: range(-1_501 * 60_000, 0), bucket: StatsBucket.MINUTE }),
  ),
  bad("stats with NUL in a type filter", "types[0]", (c) => c.history.getStats({ window: range(-DAY, 0), types: ["\u0000"] })),
  bad("export without a range", "range", drain({})),
  bad("export with a range ending before it starts", "range", drain({ range: range(0, -DAY) })),
  bad("export with NUL in a queue filter", "queues[0]", drain({ range: range(-DAY, 0), queues: ["\u0000"] })),
  bad("insert a job with a malformed id", "jobs[0].id", insert({ id: "x" })),
  bad("insert a job with a UUIDv4 id", "jobs[0].id", insert({ id: randomUUID() })),
  bad("insert a job with an empty type", "jobs[0].type", insert({ type: "" })),
  bad("insert a payload with NUL", "jobs[0].payload.a", insert({ payload: { a: "\u0000" } })),
  bad("insert a negative priority", "jobs[0].priority", insert({ priority: -1 })),
  bad("insert max_attempts 0", "jobs[0].max_attempts", insert({ maxAttempts: 0 })),
  {
    ...bad("insert a run time in year -300", "jobs[0].scheduled_at", insert({ scheduledAt: { seconds: -71_000_000_000n } })),
    binaryOnly: true,
  },
  bad("append an event of type 99", "events[0].type", append({ type: 99 })),
  bad("append an event with status 99", "events[0].status", append({ status: 99 })),
  bad("append an event with seq 0", "events[0].seq", append({ seq: 0 })),
  bad("append an event with no time", "events[0].occurred_at", append({ occurredAt: undefined })),
  bad("append an error with NUL", "events[0].error", append({ error: "boom\u0000" })),
  bad("append an event of job '%'", "events[0].job_id", append({ jobId: "%" })),
  bad("upsert a worker with no id", "workers[0].id", (c) => c.ingest.upsertWorkers({ workers: [{ id: "" }] })),
  bad("upsert a worker with status 99", "workers[0].status", (c) =>
    c.ingest.upsertWorkers({ workers: [{ id: "w-bad", status: 99 as WorkerStatus }] }),
  ),
  bad("upsert worker metadata with NUL", "workers[0].metadata", (c) =>
    c.ingest.upsertWorkers({ workers: [{ id: "w-bad", metadata: { k: "\u0000" } }] }),
  ),
  badBytes("unknown status name", LIST_JOBS, "json", '{"statuses":["JOB_STATUS_EXPLODED"]}', "JOB_STATUS_EXPLODED"),
  badBytes("unknown event type name", APPEND, "json", '{"events":[{"type":"JOB_EVENT_TYPE_NOPE"}]}', "JOB_EVENT_TYPE_NOPE"),
  badBytes("unknown worker status name", UPSERT, "json", '{"workers":[{"id":"w","status":"WORKER_STATUS_NOPE"}]}', "WORKER_STATUS_NOPE"),
  badBytes("unknown JSON field", LIST_JOBS, "json", '{"status":["JOB_STATUS_PENDING"]}', '"status"'),
  badBytes(
    "invalid UTF-8 in an id",
    GET_JOB,
    "proto",
    patchBytes(binaryOf(GetJobRequestSchema, { id: "QQQQ" }), "QQQQ", [0xed, 0xa0, 0x80, 0x51]),
    "utf-8",
  ),
  badBytes(
    "invalid UTF-8 in a type filter",
    LIST_JOBS,
    "proto",
    patchBytes(binaryOf(ListJobsRequestSchema, { types: ["QQQQ"] }), "QQQQ", [0xf8, 0x88, 0x80, 0x80]),
    "utf-8",
  ),
  badBytes("lone surrogate in a type filter", LIST_JOBS, "json", `{"types":["${LONE_SURROGATE}"]}`, "types"),
  badBytes("cut-short binary message", GET_JOB, "proto", Uint8Array.of(0x0a, 0x24, 0x30), "parse binary"),
  badBytes(
    "lone surrogate in an inserted payload",
    INSERT,
    "json",
    `{"jobs":[{"id":"${randomUUID()}","type":"echo","queue":"default","maxAttempts":3,"payload":{"s":"${LONE_SURROGATE}"}}]}`,
    "jobs[0].payload.s",
  ),
];
