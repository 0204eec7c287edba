import type { ReactNode } from "react";

export function SchedulesPage(): ReactNode {
  return <h1>Schedules</h1>;
}
