import { WorkerStatus, WorkerStatusSchema } from "@taskflow/proto";
import type { ReactNode } from "react";
import { label } from "../format.js";

/** A worker's health as a badge (healthy, stale, gone); the word carries the meaning, not the colour. */
export function WorkerStatusBadge({ status }: { status: WorkerStatus }): ReactNode {
  const text = status === WorkerStatus.UNSPECIFIED ? "unknown" : label(WorkerStatusSchema, status);
  return <span className={`badge worker-${text}`}>{text}</span>;
}
