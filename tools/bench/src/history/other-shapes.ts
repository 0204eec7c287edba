import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type GetJobResponse,
  type GetStatsRequestSchema,
  type GetStatsResponse,
  type ListWorkersResponse,
  StatsBucket,
} from "@taskflow/proto";
import { JOB_TYPES, WORKERS } from "./catalog.js";
import { defineShape, type Shape, type ShapeContext, ShapeUnavailable, TARGET_MS } from "./shape.js";

type StatsRequest = MessageInitShape<typeof GetStatsRequestSchema>;

/** GetStats over one whole day in hourly buckets, optionally for one type. */
function statsShape(name: string, typed: boolean): Shape {
  return defineShape<StatsRequest, GetStatsResponse>({
    name,
    targetMs: TARGET_MS.stats,
    requests: (ctx, n) => Promise.resolve(Array.from({ length: n }, () => statsRequest(ctx, typed))),
    send: (client, req) => client.getStats(req),
    check: (_req, res) => {
      if (res.throughput.length !== 24) return `${res.throughput.length} hourly buckets for a day`;
      return (res.created?.total ?? 0n) > 0n ? undefined : "no job created that day";
    },
  });
}

function statsRequest(ctx: ShapeContext, typed: boolean): StatsRequest {
  const day = ctx.rng.pick(ctx.facts.days);
  return {
    window: { startTime: timestampFromDate(new Date(day.startMs)), endTime: timestampFromDate(new Date(day.endMs)) },
    bucket: StatsBucket.HOUR,
    types: typed ? [ctx.rng.pick(JOB_TYPES).name] : [],
  };
}

/** GetStats, ListWorkers and GetJob (the baseline: one primary-key lookup). */
export const OTHER_SHAPES: readonly Shape[] = [
  statsShape("stats_day", false),
  statsShape("stats_day_type", true),
  defineShape<number, ListWorkersResponse>({
    name: "workers_list",
    targetMs: TARGET_MS.list,
    requests: (_ctx, n) => Promise.resolve(Array.from({ length: n }, () => 100)),
    send: (client, pageSize) => client.listWorkers({ pageSize }),
    check: (_size, res) => (res.workers.length === WORKERS.length ? undefined : `${res.workers.length} workers`),
  }),
  defineShape<string, GetJobResponse>({
    name: "get_job",
    targetMs: TARGET_MS.list,
    requests: (ctx, n) => {
      if (ctx.facts.jobIds.length === 0) throw new ShapeUnavailable("no job ids were sampled");
      return Promise.resolve(Array.from({ length: n }, () => ctx.rng.pick(ctx.facts.jobIds)));
    },
    send: (client, id) => client.getJob({ id }),
    check: (id, res) => (res.job?.id === id ? undefined : `job ${res.job?.id}`),
  }),
];
