import { timestampFromMs, timestampMs, durationMs } from "@bufbuild/protobuf/wkt";
import { useQuery } from "@tanstack/react-query";
import type { GetStatsResponse, Queue } from "@taskflow/proto";
import { useMemo, type ReactNode } from "react";
import { Link, useSearchParams } from "react-router";
import { Chart } from "../components/Chart.js";
import { ErrorNotice } from "../components/ErrorNotice.js";
import { formatCount, formatDuration, formatMs, formatPercent } from "../format.js";
import { useApi } from "../session.js";

/** The windows an operator picks from, by their URL value. */
export const WINDOWS: Readonly<Record<string, { label: string; ms: number }>> = {
  "15m": { label: "15 minutes", ms: 15 * 60_000 },
  "1h": { label: "1 hour", ms: 3_600_000 },
  "6h": { label: "6 hours", ms: 6 * 3_600_000 },
  "24h": { label: "24 hours", ms: 24 * 3_600_000 },
  "7d": { label: "7 days", ms: 7 * 24 * 3_600_000 },
};
/** How often the live figures are read again. */
const LIVE_MS = 2_000;
/** Slices of the window the percentile chart has a point for (one GetStats call each). */
const PERCENTILE_POINTS = 12;

/**
 * Every queue's counts (QueueService.ListQueues, read every 2 s), its failure rate over the
 * window, and the window's throughput, wait and run-time percentiles (HistoryService.GetStats,
 * whose `by_queue` answers every queue's failure rate in the same call).
 */
export function OverviewPage(): ReactNode {
  const api = useApi();
  const [params, setParams] = useSearchParams();
  const windowKey = WINDOWS[params.get("window") ?? ""] === undefined ? "1h" : params.get("window")!;
  const windowMs = WINDOWS[windowKey]!.ms;

  const queues = useQuery({ queryKey: ["queues"], queryFn: () => api.queues.listQueues({}), refetchInterval: LIVE_MS });
  const stats = useQuery({
    queryKey: ["stats", windowKey],
    queryFn: () => api.history.getStats({ window: windowEndingNow(windowMs), topErrorsLimit: 5, byQueue: true }),
    refetchInterval: LIVE_MS * 2,
  });
  const failureRates = useMemo(() => (stats.data === undefined ? undefined : new Map(stats.data.byQueue.map((q) => [q.queue, q.failureRate]))), [stats.data]);
  const percentiles = useQuery({
    queryKey: ["percentiles", windowKey],
    queryFn: async () => {
      const end = Date.now();
      const step = windowMs / PERCENTILE_POINTS;
      const slices = Array.from({ length: PERCENTILE_POINTS }, (_, i) => end - windowMs + i * step);
      const answers = await Promise.all(
        slices.map((start) => api.history.getStats({ window: { startTime: timestampFromMs(start), endTime: timestampFromMs(start + step) }, topErrorsLimit: 0 })),
      );
      return { times: slices.map((s) => s + step), answers };
    },
    refetchInterval: LIVE_MS * 5,
  });

  return (
    <>
      <h1>Overview</h1>
      <div className="toolbar">
        <label htmlFor="window">Window</label>
        <select id="window" value={windowKey} onChange={(e) => setParams({ window: e.target.value })}>
          {Object.entries(WINDOWS).map(([key, w]) => (
            <option key={key} value={key}>
              last {w.label}
            </option>
          ))}
        </select>
        <span className="hint" aria-live="off">
          live: queues every {LIVE_MS / 1_000} s
        </span>
      </div>

      <section aria-labelledby="queues-heading">
        <h2 id="queues-heading">Queues</h2>
        <ErrorNotice error={queues.error} />
        <QueueTable queues={queues.data?.queues ?? []} failureRates={failureRates} windowLabel={WINDOWS[windowKey]!.label} />
        {(queues.data?.omitted ?? 0) > 0 && <p className="hint">{queues.data!.omitted} more queues not listed (the first 1,000 by name are).</p>}
      </section>

      <section aria-labelledby="stats-heading">
        <h2 id="stats-heading">Last {WINDOWS[windowKey]!.label}</h2>
        <ErrorNotice error={stats.error ?? percentiles.error} />
        {stats.data !== undefined && <Totals stats={stats.data} />}
        <div className="charts">
          {stats.data !== undefined && <ThroughputChart stats={stats.data} />}
          {percentiles.data !== undefined && <PercentileChart times={percentiles.data.times} answers={percentiles.data.answers} />}
        </div>
        {stats.data !== undefined && stats.data.topErrors.length > 0 && (
          <>
            <h3>Most frequent errors</h3>
            <table>
              <thead>
                <tr>
                  <th scope="col">Error</th>
                  <th scope="col" className="num">Failed attempts</th>
                  <th scope="col" className="num">Jobs</th>
                </tr>
              </thead>
              <tbody>
                {stats.data.topErrors.map((e) => (
                  <tr key={e.error}>
                    <td>
                      <Link to={`/jobs?${new URLSearchParams({ text: e.error.slice(0, 200), status: "failed" }).toString()}`}>{e.error}</Link>
                    </td>
                    <td className="num">{formatCount(e.count)}</td>
                    <td className="num">{formatCount(e.jobs)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </section>
    </>
  );
}

function windowEndingNow(ms: number) {
  const end = Date.now();
  return { startTime: timestampFromMs(end - ms), endTime: timestampFromMs(end) };
}

/** `failureRates`: by queue, of those with jobs finished in the window (any other's is 0); undefined until read. */
function QueueTable(props: { queues: Queue[]; failureRates: Map<string, number> | undefined; windowLabel: string }): ReactNode {
  const { queues, failureRates, windowLabel } = props;
  if (queues.length === 0) return <p>No queues yet: a queue appears with its first job.</p>;
  return (
    <div className="scroll">
      <table>
        <caption className="visually-hidden">Every queue, read live</caption>
        <thead>
          <tr>
            <th scope="col">Queue</th>
            <th scope="col" className="num">Ready</th>
            <th scope="col" className="num">Delayed</th>
            <th scope="col" className="num">Running</th>
            <th scope="col">Paused</th>
            <th scope="col" className="num">Parked</th>
            <th scope="col" className="num">Completed / min</th>
            <th scope="col" className="num">Failure rate ({windowLabel})</th>
            <th scope="col" className="num">Oldest ready</th>
          </tr>
        </thead>
        <tbody>
          {queues.map((q) => {
            const rate = failureRates === undefined ? undefined : (failureRates.get(q.name) ?? 0);
            return (
              <tr key={q.name} data-queue={q.name}>
                <th scope="row">
                  <Link to={`/jobs?${new URLSearchParams({ queue: q.name }).toString()}`}>{q.name}</Link>
                </th>
                <td className="num">{formatCount(q.ready)}</td>
                <td className="num">{formatCount(q.delayed)}</td>
                <td className="num">{formatCount(q.leased)}</td>
                <td>{q.paused ? <span className="badge paused">paused</span> : "no"}</td>
                <td className="num">{q.parked > 0n ? <strong>{formatCount(q.parked)}</strong> : "0"}</td>
                <td className="num">{formatCount(q.completedLastMinute)}</td>
                <td className="num">{rate === undefined ? "…" : formatPercent(rate)}</td>
                <td className="num">{formatDuration(q.oldestReadyAge)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function Totals({ stats }: { stats: GetStatsResponse }): ReactNode {
  const c = stats.created;
  return (
    <dl className="totals">
      <div>
        <dt>Submitted</dt>
        <dd>{formatCount(c?.total ?? 0n)}</dd>
      </div>
      <div>
        <dt>Completed</dt>
        <dd>{formatCount(c?.completed ?? 0n)}</dd>
      </div>
      <div>
        <dt>Failed</dt>
        <dd>{formatCount(c?.failed ?? 0n)}</dd>
      </div>
      <div>
        <dt>Failure rate</dt>
        <dd>{formatPercent(stats.failureRate)}</dd>
      </div>
      <div>
        <dt>Wait p50 / p95 / p99</dt>
        <dd>
          {formatDuration(stats.queueWait?.p50)} / {formatDuration(stats.queueWait?.p95)} / {formatDuration(stats.queueWait?.p99)}
        </dd>
      </div>
      <div>
        <dt>Run time p50 / p95 / p99</dt>
        <dd>
          {formatDuration(stats.runTime?.p50)} / {formatDuration(stats.runTime?.p95)} / {formatDuration(stats.runTime?.p99)}
        </dd>
      </div>
    </dl>
  );
}

function ThroughputChart({ stats }: { stats: GetStatsResponse }): ReactNode {
  const { times, series } = useMemo(() => {
    const b = stats.throughput;
    return {
      times: b.map((x) => (x.startTime === undefined ? 0 : timestampMs(x.startTime))),
      series: [
        { label: "submitted", color: "#1f5fbf", values: b.map((x) => Number(x.submitted)) },
        { label: "completed", color: "#1a7f37", values: b.map((x) => Number(x.completed)) },
        { label: "failed", color: "#b42318", values: b.map((x) => Number(x.failed)) },
      ],
    };
  }, [stats]);
  const sum = (i: number) => series[i]!.values.reduce<number>((a, v) => a + (v ?? 0), 0);
  return (
    <Chart
      title="Throughput per bucket"
      summary={`${sum(0)} submitted, ${sum(1)} completed, ${sum(2)} failed`}
      times={times}
      series={series}
    />
  );
}

function PercentileChart({ times, answers }: { times: number[]; answers: GetStatsResponse[] }): ReactNode {
  const series = useMemo(() => {
    const ms = (d: GetStatsResponse["runTime"], p: "p50" | "p95" | "p99") => (d?.[p] === undefined ? null : durationMs(d[p]));
    return [
      { label: "wait p50", color: "#6e40c9", values: answers.map((a) => ms(a.queueWait, "p50")) },
      { label: "wait p95", color: "#b35900", values: answers.map((a) => ms(a.queueWait, "p95")) },
      { label: "run p50", color: "#1a7f37", values: answers.map((a) => ms(a.runTime, "p50")) },
      { label: "run p95", color: "#b42318", values: answers.map((a) => ms(a.runTime, "p95")) },
    ];
  }, [answers]);
  const last = answers.at(-1);
  return (
    <Chart
      title="Wait and run time percentiles (ms)"
      summary={`latest slice: wait p95 ${last?.queueWait?.p95 === undefined ? "none" : formatMs(durationMs(last.queueWait.p95))}, run p95 ${last?.runTime?.p95 === undefined ? "none" : formatMs(durationMs(last.runTime.p95))}`}
      times={times}
      series={series}
      unit=" ms"
    />
  );
}
