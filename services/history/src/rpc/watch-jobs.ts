import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { HistoryService, WatchJobsRequest, WatchJobsResponseSchema } from "@taskflow/proto";
import { wakeOrTimeout } from "@taskflow/service-kit";
import type { FeedEnd, FeedSubscriber } from "../db/job-feed.js";
import type { JobRow, JobStatusText } from "../db/rows.js";
import { invalidArgument } from "../errors.js";
import { jobToProtoWithoutPayload } from "../mapping/to-proto.js";
import type { HistoryDeps } from "./deps.js";
import { statusFilter } from "./list-jobs.js";
import { requireUuid } from "./validate.js";

/** Changed jobs one stream holds unsent at most; a reader further behind is ended (resource_exhausted). */
export const MAX_UNSENT_JOBS = 10_000;
/** Most jobs one message carries (each at most a few KiB: no payload, no result). */
export const JOBS_PER_MESSAGE = 200;
/** Most queues, and most types, one filter names. */
export const MAX_FILTER_VALUES = 100;
/** How often an idle stream looks at its buffer anyway, in ms. */
const IDLE_RECHECK_MS = 30_000;

type Response = MessageInitShape<typeof WatchJobsResponseSchema>;

export interface Filter {
  queues: ReadonlySet<string>;
  types: ReadonlySet<string>;
  statuses: ReadonlySet<JobStatusText>;
  /** When not empty, these jobs only (lowercase), and the other filters are empty. */
  ids: ReadonlySet<string>;
}

/**
 * WatchJobs: an empty message once the stream follows the job notifications of every replica,
 * then, as jobs change (a transition, new progress), the matching ones as they are now. Each
 * stream buffers the changed jobs it has not sent, one entry per job (a newer state replaces an
 * unsent older one), so a burst on few jobs costs little; a reader that leaves more than
 * MAX_UNSENT_JOBS jobs unsent is ended with resource_exhausted, and every stream of a replica
 * whose notifications may have been lost with unavailable: the caller watches again and reads
 * what it missed with ListJobs. InvalidArgument for a bad filter.
 */
export const watchJobs = (d: HistoryDeps): ServiceImpl<typeof HistoryService>["watchJobs"] =>
  async function* (req: WatchJobsRequest, ctx: HandlerContext): AsyncGenerator<Response> {
    const buffer = new WatchBuffer(parseFilter(req));
    const remove = await d.feed.subscribe(buffer).catch((err: unknown) => {
      throw new ConnectError("job notifications unavailable; try again", Code.Unavailable, undefined, undefined, err);
    });
    try {
      yield { jobs: [] };
      for (;;) {
        const rows = await buffer.next(ctx.signal);
        if (rows === undefined) return;
        yield { jobs: rows.map(jobToProtoWithoutPayload) };
      }
    } finally {
      remove();
    }
  };

/** @throws invalid_argument for too many or empty names, an unknown status, too many or malformed ids, or ids with another filter. */
export function parseFilter(req: Pick<WatchJobsRequest, "queues" | "types" | "statuses" | "ids">): Filter {
  for (const [field, values] of [["queues", req.queues], ["types", req.types]] as const) {
    if (values.length > MAX_FILTER_VALUES) throw invalidArgument(`${field}: must name at most ${MAX_FILTER_VALUES} values`);
    if (values.some((v) => v === "")) throw invalidArgument(`${field}: must not hold an empty name`);
  }
  if (req.ids.length > JOBS_PER_MESSAGE) throw invalidArgument(`ids: must name at most ${JOBS_PER_MESSAGE} jobs`);
  if (req.ids.length > 0 && req.queues.length + req.types.length + req.statuses.length > 0) {
    throw invalidArgument("ids: follows the jobs named whatever they change into, so queues, types and statuses must be empty with it");
  }
  const ids = new Set(req.ids.map((id, i) => requireUuid(id, `ids[${i}]`)));
  return { queues: new Set(req.queues), types: new Set(req.types), statuses: new Set(statusFilter(req.statuses)), ids };
}

const matches = (f: Filter, job: JobRow): boolean =>
  (f.ids.size === 0 || f.ids.has(job.id)) &&
  (f.queues.size === 0 || f.queues.has(job.queue)) &&
  (f.types.size === 0 || f.types.has(job.type)) &&
  (f.statuses.size === 0 || f.statuses.has(job.status));

/** One stream's unsent jobs, by id, bounded; what the feed delivers, filtered. */
export class WatchBuffer implements FeedSubscriber {
  private unsent = new Map<string, JobRow>();
  private ended: FeedEnd | undefined;
  private wake = (): void => undefined;

  constructor(private readonly filter: Filter) {}

  deliver(jobs: readonly JobRow[]): void {
    if (this.ended !== undefined) return;
    for (const job of jobs) if (matches(this.filter, job)) this.unsent.set(job.id, job);
    if (this.unsent.size > MAX_UNSENT_JOBS) this.end("behind");
    else if (this.unsent.size > 0) this.wake();
  }

  end(why: FeedEnd): void {
    this.ended ??= why;
    this.unsent = new Map();
    this.wake();
  }

  /**
   * The next jobs to send, waiting for some; undefined once `signal` aborts.
   * @throws resource_exhausted when the reader fell behind, unavailable when notifications were lost.
   */
  async next(signal: AbortSignal): Promise<JobRow[] | undefined> {
    for (;;) {
      if (signal.aborted) return undefined;
      if (this.ended === "behind") {
        throw new ConnectError(`watch fell behind by more than ${MAX_UNSENT_JOBS} jobs; watch again`, Code.ResourceExhausted);
      }
      if (this.ended === "lost") throw new ConnectError("job notifications were lost; watch again", Code.Unavailable);
      if (this.unsent.size > 0) {
        const rows = [...this.unsent.values()].slice(0, JOBS_PER_MESSAGE);
        for (const r of rows) this.unsent.delete(r.id);
        return rows;
      }
      await wakeOrTimeout(IDLE_RECHECK_MS, signal, (w) => (this.wake = w));
    }
  }
}
