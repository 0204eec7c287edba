import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  type AppendEventsResponse,
  HistoryIngestService,
  HistoryService,
  type Job,
  type JobSchema,
  type JobState,
  type OperatorAction,
  type JobEventSchema,
  type ListJobsRequestSchema,
  type ListJobsResponse,
  type ReopenJobsResponse,
  type OperatorActionSchema,
  type Schedule,
  type ScheduleRunSchema,
  type ScheduleSchema,
  type ProgressUpdateSchema,
  type WorkerSchema,
} from "@taskflow/proto";
import { Health, HealthCheckResponse_ServingStatus } from "@taskflow/proto/gen/grpc/health/v1/health_pb";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createServiceConnection, type ServiceCredentials } from "@taskflow/service-kit";
import { fromHistoryError } from "./errors.js";

/** Longest wait for one history call, in ms; past it the call fails as `unavailable`. */
export const HISTORY_CALL_TIMEOUT_MS = 10_000;

export type JobInit = MessageInitShape<typeof JobSchema>;
export type JobEventInit = MessageInitShape<typeof JobEventSchema>;
export type WorkerInit = MessageInitShape<typeof WorkerSchema>;
export type ScheduleInit = MessageInitShape<typeof ScheduleSchema>;
export type ScheduleRunInit = MessageInitShape<typeof ScheduleRunSchema>;

/**
 * The scheduler's view of history. Every method fails with a ConnectError:
 * errors about the request pass through (`not_found`, `invalid_argument`,
 * `already_exists`...), any other failure becomes `unavailable`.
 */
export interface HistoryClient {
  /**
   * Inserts new jobs as pending; resolves to the stored jobs in request order. `actor` (who
   * submitted them, e.g. "api:billing") is recorded on their SUBMITTED events; `digests` (one
   * per job, or none) let history refuse an idempotency key reused for another request.
   */
  insertJobs(jobs: JobInit[], actor: string, signal?: AbortSignal, digests?: string[]): Promise<Job[]>;
  /**
   * Records transitions; resolves to how many were new, the ids of jobs history does not know,
   * and the events whose seq history holds for another transition (not recorded).
   */
  appendEvents(events: JobEventInit[], signal?: AbortSignal): Promise<AppendEventsResponse>;
  upsertWorkers(workers: WorkerInit[], signal?: AbortSignal): Promise<void>;
  /** @throws not_found when history does not know the job. */
  getJob(id: string, signal?: AbortSignal): Promise<Job>;
  /**
   * Pending and processing jobs created before `createdBeforeMs` (ms since the Unix epoch) whose
   * id sorts after `afterId` ("" for the first), in id order, each with `lastEventSeq`; fewer
   * than `pageSize` means the walk is over.
   */
  listUnfinishedJobs(page: UnfinishedPage, signal?: AbortSignal): Promise<Job[]>;
  /** Status and newest event seq of each job history knows among `ids` (at most 1000). */
  getJobStates(ids: readonly string[], signal?: AbortSignal): Promise<JobState[]>;
  /** Records what an operator did (history sets its id and time), before it is carried out. */
  recordOperatorAction(action: OperatorActionInit, signal?: AbortSignal): Promise<void>;
  /** The newest pause-or-resume of each queue and limits of each queue and job type, oldest first (see ListQueueControls). */
  listQueueControls(signal?: AbortSignal): Promise<OperatorAction[]>;
  /**
   * Puts the failed or cancelled jobs among `ids` (at most 1000) back to pending for a retry and
   * records `action` (actor, action, target, details), in one transaction; resolves to the jobs
   * reopened (whole, lastEventSeq their RETRIED event's) and the known ones refused.
   */
  reopenJobs(ids: readonly string[], action: ReopenAction, signal?: AbortSignal): Promise<ReopenJobsResponse>;
  /** One page of HistoryService.ListJobs (read from history's primary or replica). */
  listJobs(req: ListJobsInit, signal?: AbortSignal): Promise<ListJobsResponse>;
  /**
   * Stores a schedule's definition: a new one (`create`) or a change at `expectedVersion` (0n:
   * any); resolves to it as stored.
   * @throws already_exists (create, id taken), not_found (change, id unknown),
   *   failed_precondition (the version moved on).
   */
  storeSchedule(schedule: ScheduleInit, create: boolean, expectedVersion: bigint, signal?: AbortSignal): Promise<Schedule>;
  /** Deletes a schedule; resolves to a version fencing off its older ones. @throws not_found. */
  removeSchedule(id: string, signal?: AbortSignal): Promise<bigint>;
  /** The schedules among `ids` history knows, by id. */
  readSchedules(ids: readonly string[], signal?: AbortSignal): Promise<Schedule[]>;
  /** Up to `pageSize` schedules whose id sorts after `afterId`, by id. */
  readSchedulesPage(afterId: string, pageSize: number, signal?: AbortSignal): Promise<Schedule[]>;
  /** Records schedules' runs (last run and next tick, forward only). */
  recordScheduleRuns(runs: ScheduleRunInit[], signal?: AbortSignal): Promise<void>;
  /**
   * Stores running jobs' latest progress (at most 1000 updates, one per job); resolves to how
   * many changed a job (older values than history's are ignored).
   */
  recordProgress(updates: ProgressUpdateInit[], signal?: AbortSignal): Promise<number>;
  /** Resolves when history reports SERVING. */
  checkHealth(signal?: AbortSignal): Promise<void>;
}

export type ListJobsInit = MessageInitShape<typeof ListJobsRequestSchema>;

/** The operator action a reopen records: who, what, to what, and the parameters. */
export type ReopenAction = Required<Pick<OperatorActionInit, "actor" | "action" | "target">> & OperatorActionInit;

/** An operator's action: who, what, to what, with which parameters. */
export type OperatorActionInit = Pick<MessageInitShape<typeof OperatorActionSchema>, "actor" | "action" | "target" | "details">;

/** One job's progress as the scheduler accepted it: percent, details, its time and attempt. */
export type ProgressUpdateInit = MessageInitShape<typeof ProgressUpdateSchema>;

/** Which page of unfinished jobs to read. */
export interface UnfinishedPage {
  createdBeforeMs: number;
  /** The last id of the previous page; "" for the first. */
  afterId: string;
  /** 1 to 1000. */
  pageSize: number;
  /**
   * Only these jobs (at most 100), with their parents' results: the unfinished ones among them in
   * id order, as many as history's byte budget allows; the other fields are then ignored.
   */
  ids?: readonly string[];
}

/**
 * A history client over gRPC (h2c) to `baseUrl`, e.g. `http://127.0.0.1:50052`. Events go over a
 * connection of their own: their large batches never hold up a submit, and when history refuses a
 * batch for its size that connection alone is replaced (see ServiceConnection.reset).
 */
export function createHistoryClient(baseUrl: string, credentials: ServiceCredentials = {}, timeoutMs = HISTORY_CALL_TIMEOUT_MS): HistoryClient {
  const { transport } = createServiceConnection(baseUrl, credentials);
  const bulk = createServiceConnection(baseUrl, credentials);
  const ingest = createClient(HistoryIngestService, transport);
  const events = createClient(HistoryIngestService, bulk.transport);
  const history = createClient(HistoryService, transport);
  const health = createClient(Health, transport);
  const opts = (signal?: AbortSignal) => (signal === undefined ? { timeoutMs } : { timeoutMs, signal });
  const guard = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      throw fromHistoryError(err);
    }
  };
  return {
    insertJobs: (jobs, actor, signal, digests = []) =>
      guard(async () => (await ingest.insertJobs({ jobs, actor, requestDigests: digests }, opts(signal))).jobs),
    appendEvents: (batch, signal) =>
      guard(async () => {
        try {
          return await events.appendEvents({ events: batch }, opts(signal));
        } catch (err) {
          if (ConnectError.from(err).code === Code.ResourceExhausted) bulk.reset();
          throw err;
        }
      }),
    upsertWorkers: (workers, signal) => guard(async () => void (await ingest.upsertWorkers({ workers }, opts(signal)))),
    getJob: (id, signal) =>
      guard(async () => {
        const { job } = await history.getJob({ id }, opts(signal));
        if (job === undefined) throw new Error("history answered GetJob without a job");
        return job;
      }),
    listUnfinishedJobs: (page, signal) =>
      guard(async () => {
        const req = { createdBefore: timestampFromMs(page.createdBeforeMs), afterId: page.afterId, pageSize: page.pageSize, ids: [...(page.ids ?? [])] };
        return (await ingest.listUnfinishedJobs(req, opts(signal))).jobs;
      }),
    getJobStates: (ids, signal) => guard(async () => (await ingest.getJobStates({ ids: [...ids] }, opts(signal))).states),
    recordOperatorAction: (action, signal) => guard(async () => void (await ingest.recordOperatorActions({ actions: [action] }, opts(signal)))),
    listQueueControls: (signal) => guard(async () => (await ingest.listQueueControls({}, opts(signal))).actions),
    reopenJobs: (ids, { actor, ...action }, signal) =>
      guard(async () => await ingest.reopenJobs({ ids: [...ids], actor, action }, opts(signal))),
    listJobs: (req, signal) => guard(async () => await history.listJobs(req, opts(signal))),
    storeSchedule: (schedule, create, expectedVersion, signal) =>
      guard(async () => {
        const res = await ingest.storeSchedule({ schedule, create, expectedVersion }, opts(signal));
        if (res.schedule === undefined) throw new Error("history answered StoreSchedule without a schedule");
        return res.schedule;
      }),
    removeSchedule: (id, signal) => guard(async () => (await ingest.removeSchedule({ id }, opts(signal))).version),
    readSchedules: (ids, signal) => guard(async () => (await ingest.readSchedules({ ids: [...ids] }, opts(signal))).schedules),
    readSchedulesPage: (afterId, pageSize, signal) => guard(async () => (await ingest.readSchedules({ afterId, pageSize }, opts(signal))).schedules),
    recordScheduleRuns: (runs, signal) => guard(async () => void (await ingest.recordScheduleRuns({ runs }, opts(signal)))),
    recordProgress: (updates, signal) => guard(async () => (await ingest.recordProgress({ updates }, opts(signal))).recorded),
    checkHealth: (signal) =>
      guard(async () => {
        const res = await health.check({ service: "" }, opts(signal));
        if (res.status !== HealthCheckResponse_ServingStatus.SERVING) throw new Error("history is not serving");
      }),
  };
}
