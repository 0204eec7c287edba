import type { JsonObject } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import {
  AdminService,
  type GetDatabaseStatsResponse,
  type GetStatsResponse,
  HistoryAdminService,
  HistoryService,
  type Job,
  type JobEvent,
  type JobStatus,
  type OperatorAction,
  type Queue,
  QueueService,
  type RunRetentionResponse,
  ScheduleService,
  SchedulerService,
  SortOrder,
  StatsBucket,
  type Worker,
  type WorkerStatus,
} from "@taskflow/proto";
import { collectPages, timeRange, type TimeSpan } from "./pages.js";
import { createRedrive, type Redrive } from "./redrive.js";
import { credentialInterceptors, createOwnedTransport, type ClientCredentials, type ClientProtocol } from "./create-transport.js";
import { flattenFlow, type FlowNode } from "./flow-tree.js";
import { scheduleMethods, type ScheduleMethods } from "./schedule-methods.js";
import { toSubmitRequest, type SubmitInput } from "./to-submit-request.js";
import { waitForJob, type WaitForOptions } from "./wait-for-job.js";

/** Where the services are and how to talk to them. */
export interface TaskFlowClientOptions extends ClientCredentials {
  /** Base URL of the scheduler, e.g. "http://127.0.0.1:50051". */
  schedulerUrl: string;
  /** Base URL of history, e.g. "http://127.0.0.1:50052". */
  historyUrl: string;
  /** Wire protocol (default "connect": the Connect protocol over HTTP/2); see {@link ClientProtocol}. */
  protocol?: ClientProtocol;
}

export type { TimeSpan } from "./pages.js";

/** Filter and page of a job listing; filters combine with AND, empty lists mean "any". */
export interface JobFilter {
  statuses?: JobStatus[];
  types?: string[];
  queues?: string[];
  /** Jobs whose latest attempt ran on this worker. */
  workerId?: string;
  /** Runs of this schedule. */
  scheduleId?: string;
  /** Jobs created in this range. */
  created?: TimeSpan;
  /** Jobs that reached a terminal status in this range. */
  finished?: TimeSpan;
  /** Jobs whose payload contains this JSON object, e.g. `{ customer: { id: 42 } }`. */
  payloadContains?: JsonObject;
  /** Full-text search over payload values and the error, web search syntax. */
  text?: string;
  /** Jobs with more attempts than this. */
  attemptsAbove?: number;
  /** Newest first (default) or oldest first. */
  order?: "newest" | "oldest";
  /** 1 to 500 (history's default 50). */
  pageSize?: number;
  /** `nextPageToken` of the previous page, issued for the same filter. */
  pageToken?: string;
}

/** The window and slicing of {@link TaskFlowClient.stats}. */
export interface StatsQuery {
  from: Date;
  to: Date;
  types?: string[];
  queues?: string[];
  /** Width of a throughput bucket; history picks one from the window when omitted. */
  bucket?: "minute" | "hour" | "day";
  /** How many of the most frequent errors to return (history's default 10). */
  topErrors?: number;
  /** Also count the jobs finished in the window per queue, with each queue's failure rate (`byQueue`). */
  byQueue?: boolean;
}

/** What {@link TaskFlowClient.exportAuditTrail} exports. */
export interface AuditExportQuery {
  from: Date;
  to: Date;
  queues?: string[];
  types?: string[];
}

/** One page of jobs, newest first; `nextPageToken` is empty on the last page. */
export interface JobPage {
  jobs: Job[];
  nextPageToken: string;
}

/** Typed access to TaskFlow for callers. Every method throws ConnectError on RPC failure. */
export interface TaskFlowClient extends Redrive, ScheduleMethods {
  /** Submits one job; the answer means it is durable. */
  submit(input: SubmitInput): Promise<Job>;
  /** Submits a batch atomically: all are accepted or none. Jobs come back in input order. */
  submitMany(inputs: SubmitInput[]): Promise<Job[]>;
  /**
   * Submits a tree of jobs at once (a flow): each node's children wait for it (see
   * {@link flattenFlow}). Resolves to the jobs parents first, depth first, in the tree's order.
   */
  submitFlow(root: FlowNode): Promise<Job[]>;
  /** One job from history. @throws ConnectError `not_found` for an unknown id. */
  get(id: string): Promise<Job>;
  /** One page of jobs, newest first. */
  list(filter?: JobFilter): Promise<JobPage>;
  /** Every job matching the filter, page after page, newest first. */
  listAll(filter?: JobFilter): AsyncIterable<Job>;
  /** A job's whole audit trail, oldest first. */
  events(id: string): Promise<JobEvent[]>;
  /** Every known worker with its health, optionally only those of some statuses. */
  workers(filter?: { statuses?: WorkerStatus[] }): Promise<Worker[]>;
  /** One worker. @throws ConnectError `not_found` for an unknown id. */
  worker(id: string): Promise<Worker>;
  /** Counts, throughput, latencies and top errors of a time window. */
  stats(query: StatsQuery): Promise<GetStatsResponse>;
  /**
   * The audit trail of a time range as NDJSON, in chunks of whole lines (one event per line), for
   * writing to a file or parsing line by line.
   */
  exportAuditTrail(query: AuditExportQuery): AsyncIterable<Uint8Array>;
  /** Pool use, statement timings, table sizes, vacuum state, lock waits and replication lag. */
  databaseStats(statementsLimit?: number): Promise<GetDatabaseStatsResponse>;
  /** Runs history's retention once, now (or reports what it would remove, with `dryRun`). */
  runRetention(options?: { dryRun?: boolean }): Promise<RunRetentionResponse>;
  /** Every queue the scheduler sweeps, by name, with its depth and whether it is paused. */
  queues(): Promise<Queue[]>;
  /** One queue; one the scheduler does not know reads as empty. */
  queue(name: string): Promise<Queue>;
  /** Stops every worker from leasing the queue's jobs, from the answer on (admin role). */
  pauseQueue(name: string): Promise<Queue>;
  /** Lets workers lease the queue's jobs again, at once (admin role). */
  resumeQueue(name: string): Promise<Queue>;
  /**
   * Sets the queue's limits, or with `type` those of its jobs of that type, enforced across every
   * worker and replica (admin role): at most `maxRunning` of its jobs leased at once, at most
   * `maxStarts` started per `perMs`; omitted or zero: no limit.
   */
  setQueueLimits(name: string, limits: { maxRunning?: number; maxStarts?: number; perMs?: number }, type?: string): Promise<Queue>;
  /** What operators did (queue pause, resume, limits; job retries), newest first, optionally of one queue or kind. */
  operatorActions(filter?: { target?: string; action?: string }): Promise<OperatorAction[]>;
  /** Cancels a pending or running job; a running one reports PROCESSING until its worker stops. */
  cancel(id: string, reason?: string): Promise<{ id: string; status: JobStatus }>;
  /**
   * The job as it changes, pushed by history: first with its whole trail, then with each new
   * event; ends after the job is terminal. @throws ConnectError `not_found` for an unknown id.
   */
  watch(id: string, options?: { signal?: AbortSignal }): AsyncIterable<{ job: Job; events: JobEvent[] }>;
  /**
   * Every job matching the filter as it changes (a transition, a submit, new progress), pushed
   * by history, without payload and result; filters combine with AND, values within one with
   * OR, and a job matches on its state after the change. Runs until `signal` aborts (the
   * iteration then ends) or the watch fails: ConnectError `resource_exhausted` when this reader
   * fell too far behind, `unavailable` when history lost its notifications; watch again and
   * read what was missed with `list`. `onLive` is called once changes are followed (a change
   * committed after it is seen).
   */
  watchJobs(filter?: WatchJobsFilter, options?: { signal?: AbortSignal; onLive?: () => void }): AsyncIterable<Job>;
  /** Resolves with the job once it is terminal (following WatchJob). @throws WaitTimeoutError after `timeoutMs`. */
  waitFor(id: string, options?: WaitForOptions): Promise<Job>;
  /** Closes the client's connections. */
  close(): Promise<void>;
}

/** Creates a {@link TaskFlowClient} over gRPC (default), Connect or gRPC-Web. */
export function createTaskFlowClient(options: TaskFlowClientOptions): TaskFlowClient {
  const protocol = options.protocol ?? "connect";
  const interceptors = credentialInterceptors(options);
  const schedulerTransport = createOwnedTransport(options.schedulerUrl, protocol, interceptors, options.tls);
  const historyTransport = createOwnedTransport(options.historyUrl, protocol, interceptors, options.tls);
  const scheduler = createClient(SchedulerService, schedulerTransport.transport);
  const history = createClient(HistoryService, historyTransport.transport);
  const historyAdmin = createClient(HistoryAdminService, historyTransport.transport);
  const queues = createClient(QueueService, schedulerTransport.transport);
  const admin = createClient(AdminService, schedulerTransport.transport);
  return {
    ...createRedrive({ scheduler, admin, queues, history }),
    ...scheduleMethods(createClient(ScheduleService, schedulerTransport.transport)),
    submit: async (input) => requireJob((await scheduler.submitJob(toSubmitRequest(input))).job),
    submitMany: async (inputs) =>
      (await scheduler.submitJobs({ jobs: inputs.map(toSubmitRequest) })).jobs,
    submitFlow: async (root) => (await scheduler.submitJobs({ jobs: flattenFlow(root).map(toSubmitRequest) })).jobs,
    get: async (id) => requireJob((await history.getJob({ id })).job),
    list: async (filter = {}) => listPage(history, filter),
    listAll: (filter = {}) => listAllJobs(history, filter),
    events: (id) => collectPages((pageToken) => listEventsPage(history, id, pageToken)),
    workers: (filter = {}) =>
      collectPages((pageToken) => listWorkersPage(history, pageToken, filter.statuses ?? [])),
    worker: async (id) => {
      const worker = (await history.getWorker({ id })).worker;
      if (worker === undefined) throw new Error("TaskFlow answered without a worker");
      return worker;
    },
    stats: (query) =>
      history.getStats({
        window: { startTime: timestampFromDate(query.from), endTime: timestampFromDate(query.to) },
        types: query.types ?? [],
        queues: query.queues ?? [],
        bucket: query.bucket === undefined ? StatsBucket.UNSPECIFIED : BUCKETS[query.bucket],
        topErrorsLimit: query.topErrors ?? 0,
        byQueue: query.byQueue ?? false,
      }),
    exportAuditTrail: (query) => exportChunks(history, query),
    databaseStats: (statementsLimit = 0) => historyAdmin.getDatabaseStats({ statementsLimit }),
    runRetention: (retentionOptions = {}) => historyAdmin.runRetention({ dryRun: retentionOptions.dryRun ?? false }),
    queues: async () => (await queues.listQueues({})).queues,
    queue: async (name) => requireQueue((await queues.getQueue({ name })).queue),
    pauseQueue: async (name) => requireQueue((await queues.pauseQueue({ name })).queue),
    resumeQueue: async (name) => requireQueue((await queues.resumeQueue({ name })).queue),
    setQueueLimits: async (name, limits, type = "") =>
      requireQueue(
        (
          await queues.setQueueLimits({
            name,
            type,
            limits: {
              maxRunning: limits.maxRunning ?? 0,
              maxStarts: limits.maxStarts ?? 0,
              per: limits.perMs === undefined ? undefined : durationFromMs(limits.perMs),
            },
          })
        ).queue,
      ),
    operatorActions: (filter = {}) =>
      collectPages(async (pageToken) => {
        const res = await history.listOperatorActions({ pageToken, target: filter.target ?? "", action: filter.action ?? "" });
        return { items: res.actions, nextPageToken: res.nextPageToken };
      }),
    cancel: async (id, reason = "") => {
      const res = await scheduler.cancelJob({ id, reason });
      return { id: res.id, status: res.status };
    },
    watch: (id, watchOptions = {}) => watchJob(history, id, watchOptions.signal),
    watchJobs: (filter = {}, watchOptions = {}) => watchJobs(history, filter, watchOptions),
    waitFor: (id, waitOptions) => waitForJob(history, id, waitOptions),
    close: () => {
      schedulerTransport.close();
      historyTransport.close();
      return Promise.resolve();
    },
  };
}

function requireJob(job: Job | undefined): Job {
  // The contract always fills `job`; an empty answer is a server bug worth a loud error.
  if (job === undefined) throw new Error("TaskFlow answered without a job");
  return job;
}

async function* watchJob(history: Client<typeof HistoryService>, id: string, signal?: AbortSignal): AsyncGenerator<{ job: Job; events: JobEvent[] }> {
  for await (const m of history.watchJob({ jobId: id }, { signal })) yield { job: requireJob(m.job), events: m.events };
}

/** Which jobs {@link TaskFlowClient.watchJobs} follows; an empty or missing list does not filter. */
export interface WatchJobsFilter {
  queues?: string[];
  types?: string[];
  statuses?: JobStatus[];
  /** These jobs only (at most 200), whatever they change into; the other filters must then be empty. */
  ids?: string[];
}

async function* watchJobs(
  history: Client<typeof HistoryService>,
  filter: WatchJobsFilter,
  options: { signal?: AbortSignal; onLive?: () => void },
): AsyncGenerator<Job> {
  const req = { queues: filter.queues ?? [], types: filter.types ?? [], statuses: filter.statuses ?? [], ids: filter.ids ?? [] };
  try {
    for await (const m of history.watchJobs(req, { signal: options.signal })) {
      // The first message is empty: the watch is live.
      if (m.jobs.length === 0) options.onLive?.();
      yield* m.jobs;
    }
  } catch (err) {
    // A watch the caller stopped ends quietly.
    if (options.signal?.aborted === true && ConnectError.from(err).code === Code.Canceled) return;
    throw err;
  }
}

function requireQueue(queue: Queue | undefined): Queue {
  if (queue === undefined) throw new Error("TaskFlow answered without a queue");
  return queue;
}

const BUCKETS = { minute: StatsBucket.MINUTE, hour: StatsBucket.HOUR, day: StatsBucket.DAY } as const;

async function listPage(history: Client<typeof HistoryService>, filter: JobFilter): Promise<JobPage> {
  const res = await history.listJobs({
    statuses: filter.statuses ?? [],
    types: filter.types ?? [],
    queues: filter.queues ?? [],
    workerId: filter.workerId ?? "",
    scheduleId: filter.scheduleId ?? "",
    created: timeRange(filter.created),
    finished: timeRange(filter.finished),
    payloadContains: filter.payloadContains,
    textQuery: filter.text ?? "",
    attemptsAbove: filter.attemptsAbove,
    order: filter.order === "oldest" ? SortOrder.OLDEST_FIRST : SortOrder.NEWEST_FIRST,
    pageSize: filter.pageSize ?? 0,
    pageToken: filter.pageToken ?? "",
  });
  return { jobs: res.jobs, nextPageToken: res.nextPageToken };
}

async function* exportChunks(history: Client<typeof HistoryService>, query: AuditExportQuery): AsyncGenerator<Uint8Array> {
  const stream = history.exportAuditTrail({
    range: { startTime: timestampFromDate(query.from), endTime: timestampFromDate(query.to) },
    queues: query.queues ?? [],
    types: query.types ?? [],
  });
  for await (const chunk of stream) yield chunk.ndjson;
}

async function* listAllJobs(history: Client<typeof HistoryService>, filter: JobFilter): AsyncGenerator<Job> {
  let pageToken = filter.pageToken ?? "";
  do {
    const page = await listPage(history, { ...filter, pageToken });
    yield* page.jobs;
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
}

async function listEventsPage(history: Client<typeof HistoryService>, jobId: string, pageToken: string) {
  const res = await history.listJobEvents({ jobId, pageToken, pageSize: 1000 });
  return { items: res.events, nextPageToken: res.nextPageToken };
}

async function listWorkersPage(history: Client<typeof HistoryService>, pageToken: string, statuses: WorkerStatus[]) {
  const res = await history.listWorkers({ pageToken, pageSize: 500, statuses });
  return { items: res.workers, nextPageToken: res.nextPageToken };
}
