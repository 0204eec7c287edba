import { useQuery } from "@tanstack/react-query";
import type { Queue } from "@taskflow/proto";
import { useEffect, useRef, type ReactNode } from "react";
import { Link } from "react-router";
import { formatCount, formatDuration, formatTime, isoTime } from "../format.js";
import { useApi } from "../session.js";
import { ActionButton } from "./ActionButton.js";
import { ErrorNotice } from "./ErrorNotice.js";
import { ParkedEntries } from "./ParkedEntries.js";
import { QueueLimitsForm } from "./QueueLimitsForm.js";
import { LimitsText, describeActionDetails } from "./QueueLimitsText.js";

/** How often the selected queue and its operator actions are read again. */
const LIVE_MS = 2_000;
/** Operator actions shown under a queue, newest first. */
const RECENT_ACTIONS = 20;

/**
 * One queue in full (QueueService.GetQueue, read live): its counts, its pause (when, by whom)
 * with Pause and Resume, its limits and its job types' with the form that sets them (starting
 * from those in force), its parked outbox entries with Replay, and the recent operator actions
 * on it (HistoryService.ListOperatorActions). Focus moves to its heading when the operator picks
 * another queue, so a keyboard user lands on what opened.
 */
export function QueueDetail({ name, focusOnShow }: { name: string; focusOnShow: boolean }): ReactNode {
  const api = useApi();
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (focusOnShow) heading.current?.focus();
  }, [name, focusOnShow]);
  const queue = useQuery({ queryKey: ["queue", name], queryFn: () => api.queues.getQueue({ name }), refetchInterval: LIVE_MS });
  const q = queue.data?.queue;
  return (
    <section className="queue-detail" aria-labelledby="queue-detail-heading" data-queue-detail={name}>
      <h2 id="queue-detail-heading" ref={heading} tabIndex={-1}>
        Queue {name}
      </h2>
      <p className="toolbar">
        <Link to={`/jobs?${new URLSearchParams({ queue: name }).toString()}`}>Jobs in {name}</Link>
        <Link to="/queues">Close</Link>
      </p>
      <ErrorNotice error={queue.error} />
      {q !== undefined && (
        <>
          <Counts q={q} />
          <h3>Pause</h3>
          <PauseState q={q} />
          <div className="toolbar">
            <ActionButton label="Pause" run={() => api.queues.pauseQueue({ name })} />
            <ActionButton label="Resume" run={() => api.queues.resumeQueue({ name })} />
          </div>
          <h3>Limits</h3>
          <LimitsTable q={q} />
          <QueueLimitsForm q={q} />
        </>
      )}
      <ParkedEntries queue={name} />
      <OperatorActions name={name} />
    </section>
  );
}

function Counts({ q }: { q: Queue }): ReactNode {
  const items: [string, string][] = [
    ["Ready", formatCount(q.ready)],
    ["Delayed", formatCount(q.delayed)],
    ["Running", formatCount(q.leased)],
    ["Parked", formatCount(q.parked)],
    ["Outbox", formatCount(q.outbox)],
    ["Completed / min", formatCount(q.completedLastMinute)],
    ["Oldest ready", formatDuration(q.oldestReadyAge)],
  ];
  return (
    <dl className="totals">
      {items.map(([term, value]) => (
        <div key={term} data-count={term}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function PauseState({ q }: { q: Queue }): ReactNode {
  if (!q.paused) return <p data-pause="running">Not paused: workers lease its jobs.</p>;
  return (
    <p data-pause="paused">
      <span className="badge paused">paused</span> since <time dateTime={isoTime(q.pausedAt)}>{formatTime(q.pausedAt)}</time> by{" "}
      <span className="mono">{q.pausedBy || "unknown"}</span>: submits are taken, nothing is leased.
    </p>
  );
}

function LimitsTable({ q }: { q: Queue }): ReactNode {
  return (
    <div className="scroll">
      <table className="limits">
        <caption className="visually-hidden">Limits of {q.name} and of its job types</caption>
        <thead>
          <tr>
            <th scope="col">Applies to</th>
            <th scope="col">Limits</th>
            <th scope="col" className="num">Running now</th>
          </tr>
        </thead>
        <tbody>
          <tr data-limits="queue">
            <th scope="row">the whole queue</th>
            <td>
              <LimitsText limits={q.limits} />
            </td>
            <td className="num">{formatCount(q.leased)}</td>
          </tr>
          {q.typeLimits.map((t) => (
            <tr key={t.type} data-limits={`type:${t.type}`}>
              <th scope="row">
                type <span className="mono">{t.type}</span>
              </th>
              <td>
                <LimitsText limits={t.limits} />
              </td>
              <td className="num">{formatCount(t.running)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function OperatorActions({ name }: { name: string }): ReactNode {
  const api = useApi();
  const actions = useQuery({
    queryKey: ["operator-actions", name],
    queryFn: () => api.history.listOperatorActions({ target: name, pageSize: RECENT_ACTIONS }),
    refetchInterval: LIVE_MS * 2,
  });
  const list = actions.data?.actions ?? [];
  return (
    <>
      <h3>Recent operator actions</h3>
      <ErrorNotice error={actions.error} />
      {actions.isSuccess && list.length === 0 && <p className="hint">No operator has paused, resumed or limited {name}.</p>}
      {list.length > 0 && (
        <div className="scroll">
          <table className="operator-actions">
            <caption className="visually-hidden">Operator actions on {name}, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {list.map((a) => (
                <tr key={a.id.toString()} data-action={a.action}>
                  <td>
                    <time dateTime={isoTime(a.at)}>{formatTime(a.at)}</time>
                  </td>
                  <td className="mono">{a.actor}</td>
                  <td className="mono">{a.action}</td>
                  <td>{describeActionDetails(a.action, a.details) || "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
