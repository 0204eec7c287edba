import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { describeError } from "../api.js";

/**
 * A button that runs one action (an RPC), then refreshes what is on screen. A refused or failed
 * action says why beside the button, in the service's words (a refusal names the role needed);
 * `confirm` asks first.
 */
export function ActionButton(props: { label: string; run: () => Promise<unknown>; confirm?: string; done?: string; danger?: boolean }): ReactNode {
  const { label, run, confirm, done, danger = false } = props;
  const client = useQueryClient();
  const action = useMutation({ mutationFn: run, onSettled: () => client.invalidateQueries() });
  return (
    <span className="action">
      <button
        type="button"
        className={danger ? "danger" : undefined}
        disabled={action.isPending}
        onClick={() => {
          if (confirm !== undefined && !window.confirm(confirm)) return;
          action.mutate();
        }}
      >
        {label}
      </button>
      {action.isError && (
        <span className="notice error" role="alert">
          {describeError(action.error)}
        </span>
      )}
      {action.isSuccess && done !== undefined && (
        <span className="notice ok" role="status">
          {done}
        </span>
      )}
    </span>
  );
}
