import type { ReactNode } from "react";

export function JobPage(): ReactNode {
  return <h1>Job</h1>;
}
