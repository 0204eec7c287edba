import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  type DurationPercentilesSchema,
  type GetStatsRequest,
  type GetStatsResponseSchema,
  type HistoryService,
  StatsBucket,
} from "@taskflow/proto";
import { type DurationSummary, getStats as readStats, type StatsQuery, type WindowStats } from "../db/queries/get-stats.js";
import { invalidArgument } from "../errors.js";
import type { HistoryDeps } from "./deps.js";
import { requireBoundedRange } from "./time-range.js";
import { intIn } from "./validate.js";

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Longest window: a year, leap day included. */
export const STATS_MAX_WINDOW_MS = 366 * DAY_MS;
/** Most throughput buckets one answer holds. */
export const STATS_MAX_BUCKETS = 1_500;
/** Top errors returned when the request leaves `top_errors_limit` at 0. */
export const STATS_DEFAULT_TOP_ERRORS = 10;
export const STATS_MAX_TOP_ERRORS = 100;

const BUCKET_MS = new Map<StatsBucket, number>([
  [StatsBucket.MINUTE, MINUTE_MS],
  [StatsBucket.HOUR, HOUR_MS],
  [StatsBucket.DAY, DAY_MS],
]);

/** UNSPECIFIED: minutes up to 6 hours, hours up to 7 days, days beyond (at most 367 buckets). */
function autoBucket(windowMs: number): StatsBucket {
  if (windowMs <= 6 * HOUR_MS) return StatsBucket.MINUTE;
  if (windowMs <= 7 * DAY_MS) return StatsBucket.HOUR;
  return StatsBucket.DAY;
}

/** A parsed GetStats request: what to read, and the bucket to report. */
export interface StatsRequest extends StatsQuery {
  bucket: StatsBucket;
}

/**
 * Checks a GetStats request and lays out its bucket grid: buckets start at the window start
 * truncated to the bucket width in UTC (Unix time has no leap seconds, so a UTC day is
 * exactly 86,400,000 ms) and follow each other until one reaches the window end.
 * `top_errors_limit` 0 is proto3's "unset" and means the default 10.
 * @throws {ConnectError} InvalidArgument naming the field: a window missing, out of order or
 *   over 366 days; an unknown bucket or one giving more than 1,500 buckets; a limit outside
 *   0..100.
 */
export function parseStatsRequest(req: GetStatsRequest): StatsRequest {
  const { start, end } = requireBoundedRange(req.window, "window");
  const windowMs = end.getTime() - start.getTime();
  if (windowMs > STATS_MAX_WINDOW_MS) throw invalidArgument(`window: must span at most 366 days, got ${windowMs} ms`);
  const bucket = req.bucket === StatsBucket.UNSPECIFIED ? autoBucket(windowMs) : req.bucket;
  const bucketMs = BUCKET_MS.get(bucket);
  if (bucketMs === undefined) throw invalidArgument(`bucket: must be a known StatsBucket, got ${req.bucket}`);
  const origin = Math.floor(start.getTime() / bucketMs) * bucketMs;
  const buckets = Math.ceil((end.getTime() - origin) / bucketMs);
  if (buckets > STATS_MAX_BUCKETS) {
    throw invalidArgument(`bucket: the window holds ${buckets} buckets of ${StatsBucket[bucket]}, at most ${STATS_MAX_BUCKETS}`);
  }
  const limit = intIn(req.topErrorsLimit, 0, STATS_MAX_TOP_ERRORS, "top_errors_limit");
  return {
    start,
    end,
    types: req.types,
    queues: req.queues,
    origin: new Date(origin),
    bucketMs,
    buckets,
    bucket,
    topErrorsLimit: limit === 0 ? STATS_DEFAULT_TOP_ERRORS : limit,
    byQueue: req.byQueue,
  };
}

type DurationPercentilesInit = MessageInitShape<typeof DurationPercentilesSchema>;

/** Whole microseconds as a Duration. */
function duration(us: number | undefined): { seconds: bigint; nanos: number } | undefined {
  if (us === undefined) return undefined;
  const seconds = Math.floor(us / 1_000_000);
  return { seconds: BigInt(seconds), nanos: (us - seconds * 1_000_000) * 1_000 };
}

function percentiles(s: DurationSummary): DurationPercentilesInit {
  return { count: s.count, p50: duration(s.p50Us), p95: duration(s.p95Us), p99: duration(s.p99Us) };
}

/** failed / (completed + failed); 0 when no job completed or failed. */
function failureRate(finished: { completed: bigint; failed: bigint }): number {
  const ended = finished.completed + finished.failed;
  return ended === 0n ? 0 : Number(finished.failed) / Number(ended);
}

/** The answer for `q` from the figures read. */
export function statsToProto(q: StatsRequest, s: WindowStats): MessageInitShape<typeof GetStatsResponseSchema> {
  const c = s.created;
  return {
    window: { startTime: timestampFromDate(q.start), endTime: timestampFromDate(q.end) },
    bucket: q.bucket,
    created: { ...c, total: c.pending + c.processing + c.completed + c.failed + c.cancelled },
    throughput: s.throughput.map(({ start, ...counts }) => ({ startTime: timestampFromDate(start), ...counts })),
    queueWait: percentiles(s.queueWait),
    runTime: percentiles(s.runTime),
    failureRate: failureRate(s.finished),
    topErrors: s.topErrors.map((e) => ({ ...e, lastSeenAt: timestampFromDate(e.lastSeenAt) })),
    byQueue: s.byQueue.map((o) => ({ ...o, failureRate: failureRate(o) })),
  };
}

/**
 * GetStats: counts, throughput, latency percentiles and top errors of a window, read from the
 * replica. Percentiles are percentile_cont (linear interpolation), rounded to the microsecond.
 * InvalidArgument for a bad window, bucket or limit (see {@link parseStatsRequest}).
 */
export const getStats =
  (d: HistoryDeps): ServiceImpl<typeof HistoryService>["getStats"] =>
  async (req) => {
    const q = parseStatsRequest(req);
    return statsToProto(q, await readStats(d.readDb, q));
  };
