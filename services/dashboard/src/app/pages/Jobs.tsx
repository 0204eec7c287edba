import type { ReactNode } from "react";

export function JobsPage(): ReactNode {
  return <h1>Jobs</h1>;
}
