import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { ParkedEvent, ReplayParkedEventsResponse } from "@taskflow/proto";
import type { ReactNode } from "react";
import { Link, useSearchParams } from "react-router";
import { describeError } from "../api.js";
import { formatCount, formatTime, isoTime } from "../format.js";
import { useApi } from "../session.js";
import { ErrorNotice } from "./ErrorNotice.js";

/** Entries per page (ListParkedEvents takes 1 to 1000). */
const PAGE_SIZE = 50;
/** How often the entries are read again. */
const LIVE_MS = 5_000;
/** The URL parameter of the shown page's token (valid for its queue only). */
const PAGE_PARAM = "parked_page";

const entries = (n: number) => `${formatCount(n)} ${n === 1 ? "entry" : "entries"}`;

/**
 * A queue's parked outbox entries (AdminService.ListParkedEvents, oldest first, 50 a page, the
 * page token in the URL): transitions history refused, each with its error and a Replay button,
 * and Replay all (the oldest 1,000). A replay reports what history recorded, what it refused
 * again (with the new error) and what was no longer parked. Reading them needs the admin role:
 * a reader sees the service's refusal in place of the list.
 */
export function ParkedEntries({ queue }: { queue: string }): ReactNode {
  const api = useApi();
  const client = useQueryClient();
  const [params] = useSearchParams();
  const pageToken = params.get(PAGE_PARAM) ?? "";
  const parked = useQuery({
    queryKey: ["parked", queue, pageToken],
    queryFn: ({ signal }) => api.admin.listParkedEvents({ queue, pageSize: PAGE_SIZE, pageToken }, { signal }),
    // A refusal (the admin role is needed) will not change by asking again.
    refetchInterval: (q) => (q.state.status === "error" ? false : LIVE_MS),
  });
  const replay = useMutation({
    mutationFn: (entryIds: string[]) => api.admin.replayParkedEvents({ queue, entryIds }),
    onSettled: () => client.invalidateQueries(),
  });
  const list = parked.data?.events ?? [];
  const next = parked.data?.nextPageToken ?? "";
  const pageLink = (token: string) => {
    const p = new URLSearchParams(params);
    if (token === "") p.delete(PAGE_PARAM);
    else p.set(PAGE_PARAM, token);
    return `?${p.toString()}`;
  };
  return (
    <section aria-labelledby="parked-heading" data-parked={queue}>
      <h3 id="parked-heading">Parked outbox entries</h3>
      <p className="hint">Transitions history refused, kept until replayed: fix the cause, then replay them.</p>
      <ErrorNotice error={parked.error} />
      {parked.isSuccess && list.length === 0 && (
        <p data-parked-empty>{pageToken === "" ? `No parked entries: history holds every transition of ${queue}.` : "No parked entries on this page."}</p>
      )}
      {list.length > 0 && (
        <>
          <div className="toolbar">
            <button type="button" disabled={replay.isPending} onClick={() => replay.mutate([])}>
              Replay all
            </button>
            <span className="hint">the oldest 1,000 of {queue}, in order</span>
          </div>
          <ParkedTable events={list} queue={queue} busy={replay.isPending} replay={(id) => replay.mutate([id])} />
        </>
      )}
      <div role="status" data-replay-outcome>
        {replay.isPending && <p>Replaying…</p>}
        {replay.isSuccess && <ReplayOutcome res={replay.data} />}
      </div>
      {replay.isError && (
        <p className="notice error" role="alert">
          {describeError(replay.error)}
        </p>
      )}
      {(pageToken !== "" || next !== "") && (
        <nav className="pager" aria-label="Pages of parked entries">
          {pageToken !== "" && <Link to={pageLink("")}>Oldest</Link>}
          {next !== "" && <Link to={pageLink(next)}>Next {PAGE_SIZE}</Link>}
        </nav>
      )}
    </section>
  );
}

function ParkedTable(props: { events: ParkedEvent[]; queue: string; busy: boolean; replay: (entryId: string) => void }): ReactNode {
  return (
    <div className="scroll">
      <table className="parked">
        <caption className="visually-hidden">Parked outbox entries of {props.queue}, oldest first</caption>
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col" className="num">Seq</th>
            <th scope="col">Event</th>
            <th scope="col">Status</th>
            <th scope="col">Error</th>
            <th scope="col">Parked at</th>
            <th scope="col">
              <span className="visually-hidden">Replay</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {props.events.map((e) => (
            <tr key={e.entryId} data-entry-id={e.entryId} data-job-id={e.jobId}>
              <td data-cell="job">
                {e.jobId === "" ? (
                  "—"
                ) : (
                  <Link to={`/jobs/${encodeURIComponent(e.jobId)}`} className="mono">
                    {e.jobId}
                  </Link>
                )}
              </td>
              <td className="num" data-cell="seq">
                {e.seq}
              </td>
              <td className="mono" data-cell="event">
                {e.eventType || "—"}
              </td>
              <td className="mono" data-cell="status">
                {e.status || "—"}
              </td>
              <td className="error-cell" data-cell="error">
                {e.error}
              </td>
              <td>
                <time dateTime={isoTime(e.parkedAt)}>{formatTime(e.parkedAt)}</time>
              </td>
              <td>
                <button type="button" className="secondary" disabled={props.busy} aria-label={`Replay entry ${e.entryId}`} onClick={() => props.replay(e.entryId)}>
                  Replay
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ReplayOutcome({ res }: { res: ReplayParkedEventsResponse }): ReactNode {
  return (
    <>
      <p className={res.stillParked.length === 0 && res.notFound.length === 0 ? "notice ok" : "notice"} data-replay-summary>
        Replayed {entries(res.replayed)}; {formatCount(res.stillParked.length)} still parked; {formatCount(res.notFound.length)} not found.
      </p>
      {res.stillParked.length > 0 && (
        <ul className="still-parked" aria-label="Still parked">
          {res.stillParked.map((e) => (
            <li key={e.entryId} data-entry-id={e.entryId}>
              job <span className="mono">{e.jobId || "—"}</span> seq {e.seq} {e.eventType}: {e.error}
            </li>
          ))}
        </ul>
      )}
      {res.notFound.length > 0 && <p className="hint">Not parked any more (replayed meanwhile, or unknown): {res.notFound.join(", ")}</p>}
    </>
  );
}
