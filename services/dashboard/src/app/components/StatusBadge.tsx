import { JobStatus, JobStatusSchema } from "@taskflow/proto";
import type { ReactNode } from "react";
import { label } from "../format.js";

/** A job's status as a coloured badge; the word itself carries the meaning, not the colour. */
export function StatusBadge({ status }: { status: JobStatus }): ReactNode {
  const text = label(JobStatusSchema, status);
  return <span className={`badge status-${text}`}>{text}</span>;
}
