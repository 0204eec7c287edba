import type { Client } from "@connectrpc/connect";
import {
  type AdminService,
  type HistoryService,
  type Job,
  JobStatus,
  type ParkedEvent,
  type QueueService,
  type ReplayParkedEventsResponse,
  type SchedulerService,
  SortOrder,
} from "@taskflow/proto";
import { collectPages, timeRange, type TimeSpan } from "./pages.js";

/** Which failed or cancelled jobs {@link Redrive.retryJobs} puts back; filters combine with AND. */
export interface RetryFilter {
  /** FAILED and/or CANCELLED (default both). */
  statuses?: JobStatus[];
  queues?: string[];
  types?: string[];
  /** Jobs that reached their terminal status in this range. */
  finished?: TimeSpan;
  /** Full-text search over the error and payload values, web search syntax. */
  text?: string;
  /** Most jobs to retry in one call, 1 to 1000 (the scheduler's default 100). */
  limit?: number;
  /** Answer which jobs would be retried, changing nothing. */
  dryRun?: boolean;
}

/** The jobs a retry put back (or would), oldest first, and whether more matched than the limit. */
export interface RetryOutcome {
  jobs: Job[];
  more: boolean;
}

/** The dead-letter view: jobs that failed for good, and outbox entries history refused. */
export interface DeadLetters {
  /** Failed jobs, newest first (retry them with `retry` or `retryJobs`). */
  failed: Job[];
  /** More failed jobs than `limit` exist. */
  moreFailed: boolean;
  /** Parked outbox entries of the queues looked at, oldest first per queue (replay them with `replayParkedEvents`). */
  parked: ParkedEvent[];
}

/** The client's redrive methods (admin role for every change; reader for the failed jobs). */
export interface Redrive {
  /** Puts a FAILED or CANCELLED job back to PENDING with fresh attempts. @throws ConnectError `failed_precondition` for any other status, `not_found` for an unknown id. */
  retry(id: string): Promise<Job>;
  /** Retries (or, with `dryRun`, lists) the failed or cancelled jobs a filter selects, at most `limit` per call. */
  retryJobs(filter?: RetryFilter): Promise<RetryOutcome>;
  /** A queue's parked outbox entries, oldest first, every page. */
  parkedEvents(queue: string): Promise<ParkedEvent[]>;
  /** Sends a queue's parked entries (the named ones, or the oldest 1000) to history again. */
  replayParkedEvents(queue: string, entryIds?: string[]): Promise<ReplayParkedEventsResponse>;
  /**
   * Failed jobs (up to `limit`, default 50) and the parked entries of `queues` (default: every
   * queue that holds some).
   */
  deadLetters(options?: { queues?: string[]; limit?: number }): Promise<DeadLetters>;
}

/** Clients the redrive methods call: scheduler-side SchedulerService, AdminService, QueueService; HistoryService. */
export interface RedriveClients {
  scheduler: Client<typeof SchedulerService>;
  admin: Client<typeof AdminService>;
  queues: Client<typeof QueueService>;
  history: Client<typeof HistoryService>;
}

/** Largest page of ListParkedEvents. */
const PARKED_PAGE_SIZE = 1_000;
const DEFAULT_DEAD_LETTER_LIMIT = 50;

export function createRedrive(c: RedriveClients): Redrive {
  const parkedEvents = (queue: string): Promise<ParkedEvent[]> =>
    collectPages(async (pageToken) => {
      const res = await c.admin.listParkedEvents({ queue, pageSize: PARKED_PAGE_SIZE, pageToken });
      return { items: res.events, nextPageToken: res.nextPageToken };
    });
  return {
    retry: async (id) => {
      const { job } = await c.scheduler.retryJob({ id });
      if (job === undefined) throw new Error("TaskFlow answered without a job");
      return job;
    },
    retryJobs: async (filter = {}) => {
      const res = await c.scheduler.retryJobs({
        statuses: filter.statuses ?? [],
        queues: filter.queues ?? [],
        types: filter.types ?? [],
        finished: timeRange(filter.finished),
        textQuery: filter.text ?? "",
        limit: filter.limit ?? 0,
        dryRun: filter.dryRun ?? false,
      });
      return { jobs: res.jobs, more: res.more };
    },
    parkedEvents,
    replayParkedEvents: (queue, entryIds = []) => c.admin.replayParkedEvents({ queue, entryIds }),
    deadLetters: async (options = {}) => {
      const limit = options.limit ?? DEFAULT_DEAD_LETTER_LIMIT;
      const failed = await c.history.listJobs({
        statuses: [JobStatus.FAILED],
        queues: options.queues ?? [],
        pageSize: limit,
        order: SortOrder.NEWEST_FIRST,
      });
      const queues = options.queues ?? (await c.queues.listQueues({})).queues.filter((q) => q.parked > 0n).map((q) => q.name);
      const parked = (await Promise.all(queues.map(parkedEvents))).flat();
      return { failed: failed.jobs, moreFailed: failed.nextPageToken !== "", parked };
    },
  };
}
