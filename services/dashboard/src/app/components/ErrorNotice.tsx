import type { ReactNode } from "react";
import { describeError } from "../api.js";

/** A failed call, said in the service's words, announced to screen readers. */
export function ErrorNotice({ error }: { error: unknown }): ReactNode {
  if (error === null || error === undefined) return null;
  return (
    <p className="notice error" role="alert">
      {describeError(error)}
    </p>
  );
}
