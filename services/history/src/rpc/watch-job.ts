import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { HistoryService, WatchJobRequest, WatchJobResponseSchema } from "@taskflow/proto";
import { getJob as readJob } from "../db/queries/get-job.js";
import { listJobEvents as readEvents } from "../db/queries/list-job-events.js";
import { TERMINAL_STATUSES, type JobRow } from "../db/rows.js";
import { notFound } from "../errors.js";
import { eventToProto, jobToProto } from "../mapping/to-proto.js";
import { wakeOrTimeout } from "@taskflow/service-kit";
import type { HistoryDeps } from "./deps.js";
import { requireUuid } from "./validate.js";

/**
 * Longest a watch waits without a notification before it reads again, in ms: a safety net for
 * a notification lost with the listening connection.
 */
export const WATCH_RECHECK_MS = 2_000;
/** Longest a watch follows a terminal job whose trail has a hole, in ms; and how often it looks meanwhile. */
const GAP_WAIT_MS = 5_000;
const GAP_RECHECK_MS = 100;
/** Most events one message carries; a longer trail goes over several. */
const EVENTS_PER_MESSAGE = 1_000;

type Response = MessageInitShape<typeof WatchJobResponseSchema>;

/** Which progress value a job holds (RecordProgress orders values by attempt and time). */
const progressVersion = (job: JobRow): string => `${job.progress_attempt ?? 0}:${job.progress_at?.getTime() ?? 0}`;

/**
 * WatchJob: the job and its trail, then the job and its new events each time history records
 * some, or the job alone when its progress changed (woken by the job-events notification of whichever replica recorded them), until the job
 * is terminal and its trail whole (a transition recorded after the one that ended the job is
 * waited for, up to GAP_WAIT_MS). Reads the primary, which the notification follows. InvalidArgument for a
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
      // Events can be recorded out of order (two replicas forward one queue's outbox), so what
      // was sent is kept by seq, and reads restart after the last seq with none missing before it.
      const sent = new Set<number>();
      let contiguous = 0;
      let gapSinceMs: number | undefined;
      // The progress last sent: a new value is sent even when no event came with it.
      let sentProgress: string | undefined;
      for (let first = true; ; first = false) {
        changed = false;
        // The events first, then the row: an event and its change to the row commit together, so
        // the row read after is at least as new as every event read (the other way round, an event
        // committed between the reads would be sent with the row from before it).
        const rows = (await readEvents(d.db, { jobId: id, afterSeq: contiguous, limit: EVENTS_PER_MESSAGE })) ?? [];
        const job = await readJob(d.db, id);
        if (job === undefined) throw notFound(`job ${id} not found`);
        const events = rows.filter((e) => !sent.has(e.seq));
        for (const e of events) sent.add(e.seq);
        while (sent.has(contiguous + 1)) contiguous += 1;
        const progress = progressVersion(job);
        if (first || events.length > 0 || progress !== sentProgress) {
          sentProgress = progress;
          yield { job: jobToProto(job), events: events.map(eventToProto) };
        }
        if (rows.length === EVENTS_PER_MESSAGE && events.length > 0) continue;
        if (TERMINAL_STATUSES.includes(job.status)) {
          // A terminal job whose trail still has a hole (a transition recorded after the one that
          // ended it) is followed until the hole fills, or for GAP_WAIT_MS at most.
          if (contiguous >= job.last_seq) return;
          gapSinceMs ??= Date.now();
          if (Date.now() - gapSinceMs >= GAP_WAIT_MS) return;
        }
        if (!changed) await wakeOrTimeout(gapSinceMs === undefined ? WATCH_RECHECK_MS : GAP_RECHECK_MS, ctx.signal, (w) => (wake = w));
        if (ctx.signal.aborted) return;
      }
    } finally {
      stop();
    }
  };
