import type { ReactNode } from "react";

export function QueuesPage(): ReactNode {
  return <h1>Queues</h1>;
}
