import { type QueryClient, useQueryClient } from "@tanstack/react-query";
import type { Job, JobEvent } from "@taskflow/proto";
import { useEffect, useState } from "react";
import type { Api } from "../api.js";
import { followStream, type LiveState } from "./LiveStatus.js";

/** The query keys of a job and of its trail, which the Job page reads and the watch writes. */
export const jobKey = (id: string) => ["job", id] as const;
export const jobEventsKey = (id: string) => ["job-events", id] as const;

/** Events by seq, without repeats, oldest first. */
export function mergeEvents(old: readonly JobEvent[], added: readonly JobEvent[]): JobEvent[] {
  const bySeq = new Map(old.map((e) => [e.seq, e]));
  for (const e of added) bySeq.set(e.seq, e);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

function apply(client: QueryClient, id: string, job: Job | undefined, events: JobEvent[]): void {
  if (job !== undefined) {
    // WatchJob leaves the children out (GetJob has them): keep those read last.
    client.setQueryData<Job>(jobKey(id), (old) => (old === undefined ? job : { ...job, children: job.children.length > 0 ? job.children : old.children }));
  }
  if (events.length > 0) client.setQueryData<JobEvent[]>(jobEventsKey(id), (old) => mergeEvents(old ?? [], events));
}

/**
 * Follows HistoryService.WatchJob of job `id` while `active` (the job is not terminal): each
 * message updates the job and its trail where the page reads them, so transitions and progress
 * show without a reload. The stream ends by itself once the job is terminal; the job is then
 * read once more with GetJob (its children's statuses); after an error it reconnects with a backoff.
 */
export function useWatchJob(api: Api, id: string, active: boolean): LiveState | undefined {
  const client = useQueryClient();
  const [state, setState] = useState<LiveState>({ kind: "connecting" });
  useEffect(() => {
    if (!active) return;
    const ctl = new AbortController();
    setState({ kind: "connecting" });
    void followStream({
      open: (signal) => api.history.watchJob({ jobId: id }, { signal }),
      onMessage: (m) => apply(client, id, m.job, m.events),
      onState: (s) => {
        setState(s);
        if (s.kind === "ended") void client.invalidateQueries({ queryKey: jobKey(id) });
      },
      signal: ctl.signal,
      endsByItself: true,
    });
    return () => ctl.abort();
  }, [api, client, id, active]);
  return active ? state : undefined;
}
