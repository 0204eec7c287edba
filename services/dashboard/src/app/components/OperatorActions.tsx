import { useQuery } from "@tanstack/react-query";
import type { OperatorAction } from "@taskflow/proto";
import { useState, type FormEvent, type ReactNode } from "react";
import { Link, useSearchParams } from "react-router";
import { formatTime, isoTime } from "../format.js";
import { useApi } from "../session.js";
import { ErrorNotice } from "./ErrorNotice.js";

/** How often the actions are read again. */
const LIVE_MS = 5_000;
/** Actions per page (ListOperatorActions takes 1 to 500). */
const PAGE_SIZE = 50;
/** The kinds history records (history.proto's OperatorAction.action), offered while typing. */
const KNOWN_ACTIONS = [
  "queue.pause",
  "queue.resume",
  "queue.limits",
  "job.retry",
  "jobs.retry",
  "schedule.create",
  "schedule.update",
  "schedule.pause",
  "schedule.resume",
  "schedule.delete",
  "schedule.trigger",
];

/**
 * What operators did (HistoryService.ListOperatorActions), newest first, read live, a page of 50
 * at a time. URL state: `action` and `target` (exact matches, as history filters), `page` (a
 * page token, valid only with the filters that issued it).
 */
export function OperatorActions(): ReactNode {
  const api = useApi();
  const [params, setParams] = useSearchParams();
  const action = params.get("action") ?? "";
  const target = params.get("target") ?? "";
  const pageToken = params.get("page") ?? "";
  const actions = useQuery({
    queryKey: ["operator-actions", action, target, pageToken],
    queryFn: () => api.history.listOperatorActions({ action, target, pageToken, pageSize: PAGE_SIZE }),
    refetchInterval: LIVE_MS,
  });
  const list = actions.data?.actions ?? [];
  const next = actions.data?.nextPageToken ?? "";
  const pageLink = (token: string) => {
    const p = new URLSearchParams(params);
    if (token === "") p.delete("page");
    else p.set("page", token);
    return `?${p.toString()}`;
  };
  return (
    <>
      <ActionFilters
        key={`${action}\n${target}`}
        action={action}
        target={target}
        apply={(f) => setParams((p) => filtered(p, f))}
      />
      <ErrorNotice error={actions.error} />
      {actions.data !== undefined && list.length === 0 && <p>No operator actions{action !== "" || target !== "" ? " match these filters" : " yet"}.</p>}
      {list.length > 0 && <ActionTable actions={list} />}
      <nav className="pager" aria-label="Operator action pages">
        {pageToken !== "" && <Link to={pageLink("")}>Newest</Link>}
        {next !== "" && <Link to={pageLink(next)}>Older</Link>}
      </nav>
    </>
  );
}

/** `params` with the filters set (empty ones removed) and the page reset: a token holds only for its filters. */
function filtered(params: URLSearchParams, f: { action: string; target: string }): URLSearchParams {
  const p = new URLSearchParams(params);
  p.delete("page");
  for (const [key, value] of Object.entries(f)) {
    if (value === "") p.delete(key);
    else p.set(key, value);
  }
  return p;
}

function ActionFilters(props: { action: string; target: string; apply: (f: { action: string; target: string }) => void }): ReactNode {
  const [action, setAction] = useState(props.action);
  const [target, setTarget] = useState(props.target);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.apply({ action: action.trim(), target: target.trim() });
  };
  return (
    <form className="toolbar action-filters" onSubmit={submit} aria-label="Filter operator actions">
      <span className="field">
        <label htmlFor="filter-action">Action</label>
        <input id="filter-action" list="known-actions" value={action} onChange={(e) => setAction(e.target.value)} placeholder="any" />
        <datalist id="known-actions">
          {KNOWN_ACTIONS.map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
      </span>
      <span className="field">
        <label htmlFor="filter-target">Target</label>
        <input id="filter-target" value={target} onChange={(e) => setTarget(e.target.value)} placeholder="any, e.g. emails or schedule:nightly" />
      </span>
      <button type="submit">Filter</button>
      {(props.action !== "" || props.target !== "") && (
        <button type="button" className="secondary" onClick={() => props.apply({ action: "", target: "" })}>
          Clear filters
        </button>
      )}
    </form>
  );
}

function ActionTable({ actions }: { actions: OperatorAction[] }): ReactNode {
  return (
    <div className="scroll">
      <table className="operator-actions">
        <caption className="visually-hidden">Operator actions, newest first, read live</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Actor</th>
            <th scope="col">Action</th>
            <th scope="col">Target</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {actions.map((a) => (
            <tr key={a.id.toString()} data-action-id={a.id.toString()} data-action={a.action} data-target={a.target}>
              <td>
                <time dateTime={isoTime(a.at)}>{formatTime(a.at)}</time>
              </td>
              <td className="mono">{a.actor}</td>
              <td className="mono">{a.action}</td>
              <td>
                <TargetLink action={a.action} target={a.target} />
              </td>
              <td className="details">
                <code>{JSON.stringify(a.details ?? {})}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The target as a link: a schedule to the Schedules page, a job to its page, a queue to its jobs. */
function TargetLink({ action, target }: { action: string; target: string }): ReactNode {
  const schedule = /^schedule:(.+)$/.exec(target)?.[1];
  const to =
    schedule !== undefined
      ? `/schedules?${new URLSearchParams({ schedule }).toString()}`
      : action === "job.retry"
        ? `/jobs/${encodeURIComponent(target)}`
        : target !== "*" && (action.startsWith("queue.") || action === "jobs.retry")
          ? `/jobs?${new URLSearchParams({ queue: target }).toString()}`
          : undefined;
  if (to === undefined) return <span className="mono">{target}</span>;
  return (
    <Link to={to} className="mono">
      {target}
    </Link>
  );
}
