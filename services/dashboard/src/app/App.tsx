import { useEffect, type ReactNode } from "react";
import { NavLink, Outlet, Route, Routes } from "react-router";
import { AuditPage } from "./pages/Audit.js";
import { JobPage } from "./pages/Job.js";
import { JobsPage } from "./pages/Jobs.js";
import { OverviewPage } from "./pages/Overview.js";
import { QueuesPage } from "./pages/Queues.js";
import { SchedulesPage } from "./pages/Schedules.js";
import { SignIn } from "./pages/SignIn.js";
import { WorkersPage } from "./pages/Workers.js";
import { SessionProvider, useSession } from "./session.js";

const PAGES = [
  { to: "/", label: "Overview" },
  { to: "/jobs", label: "Jobs" },
  { to: "/queues", label: "Queues" },
  { to: "/workers", label: "Workers" },
  { to: "/schedules", label: "Schedules" },
  { to: "/audit", label: "Audit" },
];

/** The dashboard: sign-in when the services want a token, then the pages under one layout. */
export function App(): ReactNode {
  return (
    <SessionProvider>
      {(session) =>
        !session.signedIn ? (
          <SignIn />
        ) : (
          <Routes>
            <Route element={<Layout />}>
              <Route index element={<OverviewPage />} />
              <Route path="jobs" element={<JobsPage />} />
              <Route path="jobs/:id" element={<JobPage />} />
              <Route path="queues" element={<QueuesPage />} />
              <Route path="workers" element={<WorkersPage />} />
              <Route path="schedules" element={<SchedulesPage />} />
              <Route path="audit" element={<AuditPage />} />
              <Route path="*" element={<NotFound />} />
            </Route>
          </Routes>
        )
      }
    </SessionProvider>
  );
}

function Layout(): ReactNode {
  const { authRequired, signOut } = useSession();
  useEffect(() => {
    if (performance.getEntriesByName("taskflow:first-drawn").length === 0) performance.mark("taskflow:first-drawn");
  }, []);
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">TaskFlow</span>
        <nav aria-label="Pages">
          <ul>
            {PAGES.map((p) => (
              <li key={p.to}>
                <NavLink to={p.to} end={p.to === "/"}>
                  {p.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        {authRequired ? (
          <button type="button" className="link" onClick={signOut}>
            Sign out
          </button>
        ) : (
          <span className="hint">authentication off</span>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </>
  );
}

function NotFound(): ReactNode {
  return (
    <>
      <h1>Not found</h1>
      <p>No page here. Pick one above.</p>
    </>
  );
}
