import { createClient, type Client } from "@connectrpc/connect";
import {
  HistoryService,
  SchedulerService,
  type Job,
  type JobEvent,
  type JobStatus,
  type Worker,
} from "@taskflow/proto";
import { createOwnedTransport, type ClientProtocol } from "./create-transport.js";
import { toSubmitRequest, type SubmitInput } from "./to-submit-request.js";
import { waitForJob, type WaitForOptions } from "./wait-for-job.js";

/** Where the services are and how to talk to them. */
export interface TaskFlowClientOptions {
  /** Base URL of the scheduler, e.g. "http://127.0.0.1:50051". */
  schedulerUrl: string;
  /** Base URL of history, e.g. "http://127.0.0.1:50052". */
  historyUrl: string;
  /** "grpc" (default, HTTP/2), "connect" or "grpc-web" (both HTTP/1.1). */
  protocol?: ClientProtocol;
}

/** Filter and page of a job listing; empty lists mean "any". */
export interface JobFilter {
  statuses?: JobStatus[];
  types?: string[];
  queues?: string[];
  /** 1 to 500 (history's default 50). */
  pageSize?: number;
  /** `nextPageToken` of the previous page. */
  pageToken?: string;
}

/** One page of jobs, newest first; `nextPageToken` is empty on the last page. */
export interface JobPage {
  jobs: Job[];
  nextPageToken: string;
}

/** Typed access to TaskFlow for callers. Every method throws ConnectError on RPC failure. */
export interface TaskFlowClient {
  /** Submits one job; the answer means it is durable. */
  submit(input: SubmitInput): Promise<Job>;
  /** Submits a batch atomically: all are accepted or none. Jobs come back in input order. */
  submitMany(inputs: SubmitInput[]): Promise<Job[]>;
  /** One job from history. @throws ConnectError `not_found` for an unknown id. */
  get(id: string): Promise<Job>;
  /** One page of jobs, newest first. */
  list(filter?: JobFilter): Promise<JobPage>;
  /** Every job matching the filter, page after page, newest first. */
  listAll(filter?: JobFilter): AsyncIterable<Job>;
  /** A job's whole audit trail, oldest first. */
  events(id: string): Promise<JobEvent[]>;
  /** Every known worker with its health. */
  workers(): Promise<Worker[]>;
  /** Cancels a pending or running job; a running one reports PROCESSING until its worker stops. */
  cancel(id: string, reason?: string): Promise<{ id: string; status: JobStatus }>;
  /** Resolves with the job once it is terminal. @throws WaitTimeoutError after `timeoutMs`. */
  waitFor(id: string, options?: WaitForOptions): Promise<Job>;
  /** Closes the client's connections. */
  close(): Promise<void>;
}

/** Creates a {@link TaskFlowClient} over gRPC (default), Connect or gRPC-Web. */
export function createTaskFlowClient(options: TaskFlowClientOptions): TaskFlowClient {
  const protocol = options.protocol ?? "grpc";
  const schedulerTransport = createOwnedTransport(options.schedulerUrl, protocol);
  const historyTransport = createOwnedTransport(options.historyUrl, protocol);
  const scheduler = createClient(SchedulerService, schedulerTransport.transport);
  const history = createClient(HistoryService, historyTransport.transport);
  return {
    submit: async (input) => requireJob((await scheduler.submitJob(toSubmitRequest(input))).job),
    submitMany: async (inputs) =>
      (await scheduler.submitJobs({ jobs: inputs.map(toSubmitRequest) })).jobs,
    get: async (id) => requireJob((await history.getJob({ id })).job),
    list: async (filter = {}) => listPage(history, filter),
    listAll: (filter = {}) => listAllJobs(history, filter),
    events: (id) => collectPages((pageToken) => listEventsPage(history, id, pageToken)),
    workers: () => collectPages((pageToken) => listWorkersPage(history, pageToken)),
    cancel: async (id, reason = "") => {
      const res = await scheduler.cancelJob({ id, reason });
      return { id: res.id, status: res.status };
    },
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

async function listPage(history: Client<typeof HistoryService>, filter: JobFilter): Promise<JobPage> {
  const res = await history.listJobs({
    statuses: filter.statuses ?? [],
    types: filter.types ?? [],
    queues: filter.queues ?? [],
    pageSize: filter.pageSize ?? 0,
    pageToken: filter.pageToken ?? "",
  });
  return { jobs: res.jobs, nextPageToken: res.nextPageToken };
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

async function listWorkersPage(history: Client<typeof HistoryService>, pageToken: string) {
  const res = await history.listWorkers({ pageToken, pageSize: 500 });
  return { items: res.workers, nextPageToken: res.nextPageToken };
}

async function collectPages<T>(
  fetchPage: (pageToken: string) => Promise<{ items: T[]; nextPageToken: string }>,
): Promise<T[]> {
  const all: T[] = [];
  let pageToken = "";
  do {
    const page = await fetchPage(pageToken);
    all.push(...page.items);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return all;
}
