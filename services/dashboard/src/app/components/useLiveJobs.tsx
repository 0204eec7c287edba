import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Job, WatchJobsRequestSchema } from "@taskflow/proto";
import { useCallback, useEffect, useRef, useState } from "react";
import type { Api } from "../api.js";
import { JOBS_PAGE_SIZE, type JobSearch } from "./JobSearch.js";
import { followStream, type LiveState } from "./LiveStatus.js";

type WatchJobsInit = MessageInitShape<typeof WatchJobsRequestSchema>;

/** What WatchJobs says about the jobs of a search. */
export interface LiveJobs {
  state: LiveState;
  /** The newest version of a job on screen: the stream's when it is newer than the listed one. */
  latest: (job: Job) => Job;
  /** Jobs that changed into the filters and are not on screen (distinct ids). */
  fresh: number;
  /** Forgets {@link fresh}, when the page reads the list again. */
  clearFresh: () => void;
}

/** Whether `a` is a later state of a job than `b`: more events, or the same ones and newer progress. */
function newer(a: Job, b: Job): boolean {
  if (a.lastEventSeq !== b.lastEventSeq) return a.lastEventSeq > b.lastEventSeq;
  const progressAt = (j: Job) => (j.progress?.updatedAt === undefined ? 0 : timestampMs(j.progress.updatedAt));
  return progressAt(a) > progressAt(b);
}

/**
 * Follows HistoryService.WatchJobs for the search's queues, types and statuses while the page
 * is shown (`shown` being the listed jobs; the stream stops with the page or a new search and
 * reconnects after an error with a backoff). A changed job on screen is updated in place; one
 * that is not, and could match the rest of the filters, is counted in `fresh` instead of
 * moving the rows. After a reconnection the shown page is read once again, so that what the
 * stream missed meanwhile is caught up the same way. A search by status also follows the jobs
 * on screen by id: the filtered stream no longer sends a job that changed out of the statuses
 * (a failed job retried), and its row would keep the old state.
 */
export function useLiveJobs(api: Api, search: JobSearch, shown: Job[] | undefined, enabled: boolean): LiveJobs {
  const [state, setState] = useState<LiveState>({ kind: "connecting" });
  const [rowsState, setRowsState] = useState<LiveState>({ kind: "live" });
  const [updates, setUpdates] = useState<ReadonlyMap<string, Job>>(new Map());
  const [fresh, setFresh] = useState<ReadonlySet<string>>(new Set());
  const shownIds = useRef<ReadonlySet<string>>(new Set());
  const current = useRef(search);

  useEffect(() => {
    current.current = search;
  }, [search]);
  useEffect(() => {
    const ids = new Set(shown?.map((j) => j.id));
    shownIds.current = ids;
    setFresh((prev) => (prev.size === 0 ? prev : new Set([...prev].filter((id) => !ids.has(id)))));
  }, [shown]);

  const take = useCallback((jobs: Job[]) => {
    const onScreen = jobs.filter((j) => shownIds.current.has(j.id));
    const others = jobs.filter((j) => !shownIds.current.has(j.id) && current.current.couldMatch(j));
    if (onScreen.length > 0) {
      setUpdates((prev) => {
        const next = new Map(prev);
        for (const j of onScreen) {
          const had = prev.get(j.id);
          if (had === undefined || newer(j, had)) next.set(j.id, j);
        }
        return next;
      });
    }
    if (others.length > 0) setFresh((prev) => new Set([...prev, ...others.map((j) => j.id)]));
  }, []);

  /** Follows one WatchJobs stream into `take`; after a reconnection the shown page is read again. */
  const follow = useCallback(
    (request: WatchJobsInit, onState: (state: LiveState) => void, signal: AbortSignal) => {
      const catchUp = async () => {
        const s = current.current;
        take((await api.history.listJobs({ ...s.request, pageSize: JOBS_PAGE_SIZE, pageToken: s.page }, { signal })).jobs);
      };
      void followStream({
        open: async function* (streamSignal) {
          for await (const m of api.history.watchJobs(request, { signal: streamSignal })) yield m.jobs;
        },
        onMessage: (jobs, reconnected) => {
          if (reconnected) catchUp().catch(() => undefined);
          take(jobs);
        },
        onState,
        signal,
      });
    },
    [api, take],
  );

  // Equal filters, one stream: a new search (not a new page) restarts it.
  const watchKey = search.key;
  useEffect(() => {
    if (!enabled) return;
    const ctl = new AbortController();
    const { queues, types, statuses } = current.current.request;
    setState({ kind: "connecting" });
    setUpdates(new Map());
    setFresh(new Set());
    follow({ queues, types, statuses }, setState, ctl.signal);
    return () => ctl.abort();
  }, [watchKey, enabled, follow]);

  // The rows on screen by id, when the search has statuses: one stream per page shown.
  const byStatus = (search.request.statuses ?? []).length > 0;
  const shownKey = byStatus ? (shown?.map((j) => j.id).join(",") ?? "") : "";
  useEffect(() => {
    if (!enabled || shownKey === "") {
      setRowsState({ kind: "live" });
      return;
    }
    const ctl = new AbortController();
    setRowsState({ kind: "connecting" });
    follow({ ids: shownKey.split(",") }, setRowsState, ctl.signal);
    return () => ctl.abort();
  }, [shownKey, enabled, follow]);

  const latest = useCallback(
    (job: Job) => {
      const u = updates.get(job.id);
      return u !== undefined && newer(u, job) ? u : job;
    },
    [updates],
  );
  const clearFresh = useCallback(() => setFresh(new Set()), []);
  // Live once both streams are: the page's changes are followed only then.
  return { state: state.kind === "live" ? rowsState : state, latest, fresh: fresh.size, clearFresh };
}
