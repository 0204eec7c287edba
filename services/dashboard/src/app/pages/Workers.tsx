import { useInfiniteQuery } from "@tanstack/react-query";
import { WorkerStatus, type Worker } from "@taskflow/proto";
import { useRef, type ReactNode } from "react";
import { Link, useSearchParams } from "react-router";
import { ErrorNotice } from "../components/ErrorNotice.js";
import { CurrentJobs, WorkerDetail, ago } from "../components/WorkerDetail.js";
import { WorkerStatusBadge } from "../components/WorkerStatusBadge.js";
import { formatCount, formatTime, isoTime } from "../format.js";
import { useApi } from "../session.js";

/** The health filters, by their URL value. */
const STATUSES: Readonly<Record<string, WorkerStatus>> = {
  healthy: WorkerStatus.HEALTHY,
  stale: WorkerStatus.STALE,
  gone: WorkerStatus.GONE,
};
/** How often the workers are read again. */
const LIVE_MS = 2_000;
/** Workers per ListWorkers page. */
const PAGE_SIZE = 100;

/**
 * Every worker with its health, what it serves, its current jobs and its outcome counts
 * (HistoryService.ListWorkers, read every 2 s), filtered by the URL's `status`; the URL's
 * `worker` opens one in full below (GetWorker).
 */
export function WorkersPage(): ReactNode {
  const api = useApi();
  const [params, setParams] = useSearchParams();
  const statusKey = STATUSES[params.get("status") ?? ""] === undefined ? "" : params.get("status")!;
  const selected = params.get("worker") ?? "";
  const firstSelected = useRef(selected);
  const workers = useInfiniteQuery({
    queryKey: ["workers", statusKey],
    queryFn: ({ pageParam }) =>
      api.history.listWorkers({ pageSize: PAGE_SIZE, pageToken: pageParam, statuses: statusKey === "" ? [] : [STATUSES[statusKey]!] }),
    initialPageParam: "",
    getNextPageParam: (last) => (last.nextPageToken === "" ? undefined : last.nextPageToken),
    refetchInterval: LIVE_MS,
  });
  const list = workers.data?.pages.flatMap((p) => p.workers) ?? [];
  return (
    <>
      <h1>Workers</h1>
      <div className="toolbar">
        <label htmlFor="worker-status">Health</label>
        <select
          id="worker-status"
          value={statusKey}
          onChange={(e) =>
            setParams((prev) => {
              const next = new URLSearchParams(prev);
              if (e.target.value === "") next.delete("status");
              else next.set("status", e.target.value);
              return next;
            })
          }
        >
          <option value="">all</option>
          {Object.keys(STATUSES).map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <span className="hint" aria-live="off">
          live: read every {LIVE_MS / 1_000} s
        </span>
      </div>
      <ErrorNotice error={workers.error} />
      {workers.isSuccess && <WorkersTable workers={list} selected={selected} filtered={statusKey !== ""} />}
      {workers.hasNextPage && (
        <button type="button" className="secondary" disabled={workers.isFetchingNextPage} onClick={() => void workers.fetchNextPage()}>
          More workers
        </button>
      )}
      {selected !== "" && <WorkerDetail key={selected} id={selected} focusOnShow={selected !== firstSelected.current} />}
    </>
  );
}

function WorkersTable({ workers, selected, filtered }: { workers: Worker[]; selected: string; filtered: boolean }): ReactNode {
  const [params] = useSearchParams();
  if (workers.length === 0) return <p>{filtered ? "No worker has this health." : "No worker has registered yet."}</p>;
  const detailLink = (id: string) => {
    const next = new URLSearchParams(params);
    next.set("worker", id);
    return `/workers?${next.toString()}`;
  };
  return (
    <div className="scroll">
      <table className="workers">
        <caption className="visually-hidden">Workers by id, read live</caption>
        <thead>
          <tr>
            <th scope="col">Worker</th>
            <th scope="col">Health</th>
            <th scope="col">Host</th>
            <th scope="col">Queues</th>
            <th scope="col">Job types</th>
            <th scope="col" className="num">Concurrency</th>
            <th scope="col">Current jobs</th>
            <th scope="col" className="num">Completed</th>
            <th scope="col" className="num">Failed</th>
            <th scope="col">Last heartbeat</th>
          </tr>
        </thead>
        <tbody>
          {workers.map((w) => (
            <tr key={w.id} data-worker={w.id} className={w.id === selected ? "selected" : undefined}>
              <th scope="row">
                <Link to={detailLink(w.id)} className="mono" aria-current={w.id === selected ? "true" : undefined}>
                  {w.id}
                </Link>
              </th>
              <td data-col="health">
                <WorkerStatusBadge status={w.status} />
              </td>
              <td className="mono">{w.hostname || "—"}</td>
              <td data-col="queues" className="mono">
                {w.queues.join(", ")}
              </td>
              <td data-col="types" className="mono">
                {w.jobTypes.join(", ")}
              </td>
              <td className="num">{formatCount(w.concurrency)}</td>
              <td data-col="current">
                <CurrentJobs ids={w.currentJobIds} />
              </td>
              <td className="num" data-col="completed">
                {formatCount(w.jobsCompleted)}
              </td>
              <td className="num" data-col="failed">
                {formatCount(w.jobsFailed)}
              </td>
              <td data-col="last-seen">
                {ago(w.lastSeenAt)}
                <br />
                <time className="hint" dateTime={isoTime(w.lastSeenAt)}>
                  {formatTime(w.lastSeenAt)}
                </time>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
