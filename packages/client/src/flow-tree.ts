import type { SubmitInput } from "./to-submit-request.js";

/** One job of a tree submitted at once: `children` run after it (and after their other parents). */
export interface FlowNode extends Omit<SubmitInput, "ref"> {
  /** Jobs that wait for this one; each may name more parents in `dependsOn`. */
  children?: FlowNode[];
}

/**
 * Flattens a tree into one SubmitJobs batch, parents before children: each node gets the ref
 * `flow:<path>` ("flow:0", "flow:0.1", ...) and each child depends on its parent's ref on top
 * of its own `dependsOn`. The batch is stored atomically, like any batch.
 */
export function flattenFlow(root: FlowNode): SubmitInput[] {
  const out: SubmitInput[] = [];
  const visit = (node: FlowNode, path: string, parentRef: string | undefined): void => {
    const { children = [], ...input } = node;
    const ref = `flow:${path}`;
    const dependsOn = [...(parentRef === undefined ? [] : [parentRef]), ...(input.dependsOn ?? [])];
    out.push({ ...input, ref, ...(dependsOn.length > 0 ? { dependsOn } : {}) });
    children.forEach((child, i) => visit(child, `${path}.${i}`, ref));
  };
  visit(root, "0", undefined);
  return out;
}
