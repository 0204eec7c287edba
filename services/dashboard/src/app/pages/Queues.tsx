import { useQuery } from "@tanstack/react-query";
import type { Queue } from "@taskflow/proto";
import { useRef, type ReactNode } from "react";
import { Link, useSearchParams } from "react-router";
import { ErrorNotice } from "../components/ErrorNotice.js";
import { QueueDetail } from "../components/QueueDetail.js";
import { LimitsText, describeLimits, plainLimits } from "../components/QueueLimitsText.js";
import { formatCount, formatTime, isoTime } from "../format.js";
import { useApi } from "../session.js";

/** How often the queues are read again. */
const LIVE_MS = 2_000;

/**
 * Every queue with its counts, pause and limits (QueueService.ListQueues, read every 2 s); the
 * queue named by the URL's `queue` opens below the table with its actions (pause, resume,
 * limits) and the operator actions on it.
 */
export function QueuesPage(): ReactNode {
  const api = useApi();
  const [params] = useSearchParams();
  const selected = params.get("queue") ?? "";
  // Focus follows a queue picked here, not one the page was opened with.
  const firstSelected = useRef(selected);
  const queues = useQuery({ queryKey: ["queues"], queryFn: () => api.queues.listQueues({}), refetchInterval: LIVE_MS });
  return (
    <>
      <h1>Queues</h1>
      <p className="hint" aria-live="off">
        live: read every {LIVE_MS / 1_000} s. Pick a queue to pause, resume or limit it.
      </p>
      <ErrorNotice error={queues.error} />
      {queues.isSuccess && <QueuesTable queues={queues.data.queues} selected={selected} />}
      {(queues.data?.omitted ?? 0) > 0 && (
        <p className="hint">{queues.data!.omitted} more queues not listed (the first 1,000 by name are); open one with ?queue=its-name.</p>
      )}
      {selected !== "" && <QueueDetail key={selected} name={selected} focusOnShow={selected !== firstSelected.current} />}
    </>
  );
}

function QueuesTable({ queues, selected }: { queues: Queue[]; selected: string }): ReactNode {
  if (queues.length === 0) return <p>No queues yet: a queue appears with its first job.</p>;
  return (
    <div className="scroll">
      <table className="queues">
        <caption className="visually-hidden">Every queue, read live</caption>
        <thead>
          <tr>
            <th scope="col">Queue</th>
            <th scope="col" className="num">Ready</th>
            <th scope="col" className="num">Delayed</th>
            <th scope="col" className="num">Running</th>
            <th scope="col" className="num">Parked</th>
            <th scope="col" className="num">Outbox</th>
            <th scope="col">Paused</th>
            <th scope="col">Limits</th>
            <th scope="col">Job type limits</th>
            <th scope="col">Jobs</th>
          </tr>
        </thead>
        <tbody>
          {queues.map((q) => (
            <tr key={q.name} data-queue={q.name} className={q.name === selected ? "selected" : undefined}>
              <th scope="row">
                <Link to={`/queues?${new URLSearchParams({ queue: q.name }).toString()}`} aria-current={q.name === selected ? "true" : undefined}>
                  {q.name}
                </Link>
              </th>
              <td className="num">{formatCount(q.ready)}</td>
              <td className="num">{formatCount(q.delayed)}</td>
              <td className="num">{formatCount(q.leased)}</td>
              <td className="num">{q.parked > 0n ? <strong>{formatCount(q.parked)}</strong> : "0"}</td>
              <td className="num">{formatCount(q.outbox)}</td>
              <td data-col="paused">
                {q.paused ? (
                  <>
                    <span className="badge paused">paused</span> by <span className="mono">{q.pausedBy || "unknown"}</span>
                    <br />
                    <time className="hint" dateTime={isoTime(q.pausedAt)}>
                      {formatTime(q.pausedAt)}
                    </time>
                  </>
                ) : (
                  "no"
                )}
              </td>
              <td data-col="limits">
                <LimitsText limits={q.limits} />
              </td>
              <td data-col="type-limits">
                {q.typeLimits.length === 0 ? (
                  <span className="hint">none</span>
                ) : (
                  <ul className="plain">
                    {q.typeLimits.map((t) => (
                      <li key={t.type}>
                        <span className="mono">{t.type}</span>: {describeLimits(plainLimits(t.limits))} ({formatCount(t.running)} running now)
                      </li>
                    ))}
                  </ul>
                )}
              </td>
              <td>
                {/* Named by aria-label: a visually hidden span this far right would widen the page. */}
                <Link to={`/jobs?${new URLSearchParams({ queue: q.name }).toString()}`} aria-label={`Jobs in ${q.name}`}>
                  Jobs
                </Link>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
