import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router";
import { createApi } from "./api.js";
import { App } from "./App.js";
import { jobsPageQuery, parseJobSearch } from "./components/JobSearch.js";
import { storedToken } from "./session.js";
import "./styles.css";

// User timing marks (DevTools' Performance panel, and bench:dashboard): the scripts evaluated.
performance.mark("taskflow:scripts-evaluated");

const queries = new QueryClient({
  defaultOptions: {
    // A refused or invalid call will not succeed on its own; a network blip is retried once.
    queries: { retry: 1, refetchOnWindowFocus: true, staleTime: 1_000 },
  },
});

// Opened on the Jobs page, its one call starts now, while the pages are drawn, not after.
if (window.location.pathname === "/jobs") {
  const search = parseJobSearch(new URLSearchParams(window.location.search));
  if (search.problems.length === 0) void queries.prefetchQuery(jobsPageQuery(createApi(storedToken), search));
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={queries}>
      <BrowserRouter>
        <App />
      </BrowserRouter>
    </QueryClientProvider>
  </StrictMode>,
);
