import { useQuery } from "@tanstack/react-query";
import { useMemo, type ReactNode } from "react";
import { useSearchParams } from "react-router";
import { ErrorNotice } from "../components/ErrorNotice.js";
import { JobFilterForm } from "../components/JobFilterForm.js";
import { JOBS_PAGE_SIZE, jobsPageQuery, PARAM, parseJobSearch } from "../components/JobSearch.js";
import { JobTable } from "../components/JobTable.js";
import { LiveStatus } from "../components/LiveStatus.js";
import { RetryMatching } from "../components/RetryMatching.js";
import { useLiveJobs } from "../components/useLiveJobs.js";
import { useApi } from "../session.js";

/**
 * Jobs from history: every ListJobs filter, held in the URL (a link per search), one page of 50
 * a call (keyset-paged by the page token, also in the URL), and the shown jobs followed live
 * through WatchJobs: their rows change in place, and jobs newly matching are counted in a
 * notice rather than pushed into the table. A search of failed and/or cancelled jobs offers to
 * retry every job it selects (RetryMatching).
 */
export function JobsPage(): ReactNode {
  const api = useApi();
  const [params, setParams] = useSearchParams();
  const search = useMemo(() => parseJobSearch(params), [params]);
  const valid = search.problems.length === 0;
  const list = useQuery({
    ...jobsPageQuery(api, search),
    enabled: valid,
    // The stream keeps the rows current; reading the list again would move them.
    refetchOnWindowFocus: false,
    staleTime: Infinity,
  });
  const live = useLiveJobs(api, search, list.data?.jobs, valid);
  const jobs = useMemo(() => list.data?.jobs.map(live.latest) ?? [], [list.data, live.latest]);

  const withPage = (token: string) => {
    const next = new URLSearchParams(params);
    if (token === "") next.delete(PARAM.page);
    else next.set(PARAM.page, token);
    setParams(next);
  };
  const showNew = () => {
    live.clearFresh();
    if (search.page === "") void list.refetch();
    else withPage("");
  };
  const nextToken = list.data?.nextPageToken ?? "";

  return (
    <>
      <h1>Jobs</h1>
      <JobFilterForm key={search.key} params={params} apply={(next) => setParams(next)} />
      {search.problems.map((p) => (
        <p key={p} className="notice error" role="alert">
          Not a valid filter: {p}
        </p>
      ))}
      {/* Its own key: siblings share no key, and a new search starts it afresh. */}
      {valid && <RetryMatching key={`retry ${search.key}`} search={search} />}
      <section aria-labelledby="results-heading">
        <div className="toolbar">
          <h2 id="results-heading">{search.page === "" ? "Results" : "Results (later page)"}</h2>
          <LiveStatus state={live.state} what="changes of these jobs" />
        </div>
        <div aria-live="polite">
          {live.fresh > 0 && (
            <p className="notice new-jobs">
              {live.fresh} new {live.fresh === 1 ? "job" : "jobs"} {search.approximate ? "may match" : "match"}{" "}
              <button type="button" className="secondary" onClick={showNew}>
                Show
              </button>
            </p>
          )}
        </div>
        <ErrorNotice error={list.error} />
        {list.isPending && valid && (
          <p className="loading" role="status">
            Loading jobs…
          </p>
        )}
        {list.data !== undefined && jobs.length === 0 && <p data-empty-results>No job matches these filters.</p>}
        {jobs.length > 0 && <JobTable jobs={jobs} caption="Jobs matching the filters" />}
        <nav className="pager" aria-label="Pages of results">
          <button type="button" className="secondary" disabled={search.page === ""} onClick={() => withPage("")}>
            First page
          </button>
          <button type="button" disabled={nextToken === ""} onClick={() => withPage(nextToken)}>
            Next page
          </button>
          <span className="hint">{JOBS_PAGE_SIZE} jobs a page</span>
        </nav>
      </section>
    </>
  );
}
