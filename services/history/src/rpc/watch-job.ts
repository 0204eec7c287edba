import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { HistoryService, WatchJobRequest, WatchJobResponseSchema } from "@taskflow/proto";
import { getJob as readJob } from "../db/queries/get-job.js";
import { listJobEvents as readEvents } from "../db/queries/list-job-events.js";
import { TERMINAL_STATUSES } from "../db/rows.js";
import { notFound } from "../errors.js";
import { eventToProto, jobToProto } from "../mapping/to-proto.js";
import type { HistoryDeps } from "./deps.js";
import { requireUuid } from "./validate.js";

/**
 * Longest a watch waits without a notification before it reads again, in ms: a safety net for
 * a notification lost with the listening connection.
 */
export const WATCH_RECHECK_MS = 2_000;
/** Most events one message carries; a longer trail goes over several. */
const EVENTS_PER_MESSAGE = 1_000;

type Response = MessageInitShape<typeof WatchJobResponseSchema>;

/**
 * WatchJob: the job and its trail, then the job and its new events each time history records
 * some (woken by the job-events notification of whichever replica recorded them), until the job
 * is terminal. Reads the primary, which the notification follows. InvalidArgument for a
 * malformed id, NotFound for an unknown job.
 */
export const watchJob = (d: HistoryDeps): ServiceImpl<typeof HistoryService>["watchJob"] =>
  async function* (req: WatchJobRequest, ctx: HandlerContext): AsyncGenerator<Response> {
    const id = requireUuid(req.jobId, "job_id");
    // Set by a notification; cleared before each read, so one that comes meanwhile is not missed.
    let changed: boolean;
    let wake = (): void => undefined;
    const onEvents = (): void => {
      changed = true;
      wake();
    };
    const stop = await d.watch.watch(id, onEvents).catch((err: unknown) => {
      d.logger.warn({ err, job_id: id }, "job watch not notified; reading every recheck period");
      return () => undefined;
    });
    try {
      let lastSeq = 0;
      for (let first = true; ; first = false) {
        changed = false;
        const job = await readJob(d.db, id);
        if (job === undefined) throw notFound(`job ${id} not found`);
        const events = (await readEvents(d.db, { jobId: id, afterSeq: lastSeq, limit: EVENTS_PER_MESSAGE })) ?? [];
        if (first || events.length > 0) yield { job: jobToProto(job), events: events.map(eventToProto) };
        lastSeq = events.at(-1)?.seq ?? lastSeq;
        if (events.length === EVENTS_PER_MESSAGE) continue;
        if (TERMINAL_STATUSES.includes(job.status)) return;
        if (!changed) await until(ctx.signal, (w) => (wake = w));
        if (ctx.signal.aborted) return;
      }
    } finally {
      stop();
    }
  };

/** Resolves when `arm`'s callback is called, after the recheck period, or when `signal` aborts. */
function until(signal: AbortSignal, arm: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, WATCH_RECHECK_MS);
    signal.addEventListener("abort", done, { once: true });
    arm(done);
  });
}
