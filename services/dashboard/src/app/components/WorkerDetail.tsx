import { timestampMs } from "@bufbuild/protobuf/wkt";
import { useQuery } from "@tanstack/react-query";
import type { Worker } from "@taskflow/proto";
import { useEffect, useRef, type ReactNode } from "react";
import { Link } from "react-router";
import { formatCount, formatMs, formatTime, isoTime } from "../format.js";
import { useApi } from "../session.js";
import { ErrorNotice } from "./ErrorNotice.js";
import { WorkerStatusBadge } from "./WorkerStatusBadge.js";

/** How often the worker is read again. */
const LIVE_MS = 2_000;

/** `4 s ago` (whole seconds under a minute), from the page's clock; "—" when unset. */
export function ago(t: Worker["lastSeenAt"]): string {
  if (t === undefined) return "—";
  const ms = Math.max(0, Date.now() - timestampMs(t));
  return `${ms < 60_000 ? `${Math.round(ms / 1_000)} s` : formatMs(ms)} ago`;
}

/** A worker's current jobs, each linked to its page. */
export function CurrentJobs({ ids }: { ids: string[] }): ReactNode {
  if (ids.length === 0) return <span className="hint">none</span>;
  return (
    <ul className="plain current-jobs">
      {ids.map((id) => (
        <li key={id}>
          <Link to={`/jobs/${encodeURIComponent(id)}`} className="mono">
            {id}
          </Link>
        </li>
      ))}
    </ul>
  );
}

/**
 * One worker in full (HistoryService.GetWorker, read live), metadata included; focus moves to
 * its heading when the operator opens it from the list.
 */
export function WorkerDetail({ id, focusOnShow }: { id: string; focusOnShow: boolean }): ReactNode {
  const api = useApi();
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (focusOnShow) heading.current?.focus();
  }, [id, focusOnShow]);
  const worker = useQuery({ queryKey: ["worker", id], queryFn: () => api.history.getWorker({ id }), refetchInterval: LIVE_MS, retry: false });
  const w = worker.data?.worker;
  return (
    <section className="worker-detail" aria-labelledby="worker-detail-heading" data-worker-detail={id}>
      <h2 id="worker-detail-heading" ref={heading} tabIndex={-1}>
        Worker <span className="mono">{id}</span>
      </h2>
      <p className="toolbar">
        <Link to="/workers">Close</Link>
      </p>
      <ErrorNotice error={worker.error} />
      {w !== undefined && <WorkerFacts w={w} />}
    </section>
  );
}

function WorkerFacts({ w }: { w: Worker }): ReactNode {
  const metadata = Object.entries(w.metadata).sort(([a], [b]) => a.localeCompare(b));
  const facts: [string, ReactNode][] = [
    ["Health", <WorkerStatusBadge status={w.status} />],
    ["Host", <span className="mono">{w.hostname || "—"}</span>],
    ["Started", <time dateTime={isoTime(w.startedAt)}>{formatTime(w.startedAt)}</time>],
    [
      "Last heartbeat",
      <>
        <time dateTime={isoTime(w.lastSeenAt)}>{formatTime(w.lastSeenAt)}</time> ({ago(w.lastSeenAt)})
      </>,
    ],
    ["Concurrency", formatCount(w.concurrency)],
    ["Queues", <span className="mono">{w.queues.join(", ") || "—"}</span>],
    ["Job types", <span className="mono">{w.jobTypes.join(", ") || "—"}</span>],
    ["Current jobs", <CurrentJobs ids={w.currentJobIds} />],
    ["Completed", formatCount(w.jobsCompleted)],
    ["Failed", formatCount(w.jobsFailed)],
    ...metadata.map(([k, v]): [string, ReactNode] => [k, <span className="mono">{v}</span>]),
  ];
  return (
    <dl className="facts">
      {facts.map(([term, value], i) => (
        <div key={`${i}:${term}`}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}
