import { LIST_SHAPES } from "./list-shapes.js";
import { OTHER_SHAPES } from "./other-shapes.js";
import type { Shape } from "./shape.js";

/** Every query shape, in the order they run and are reported. */
export const SHAPES: readonly Shape[] = [...LIST_SHAPES, ...OTHER_SHAPES];

/**
 * The shapes named in `names` (all when empty), in {@link SHAPES} order.
 * @throws Error naming a shape that does not exist.
 */
export function selectShapes(names: readonly string[]): Shape[] {
  const unknown = names.filter((n) => !SHAPES.some((s) => s.name === n));
  if (unknown.length > 0) throw new Error(`unknown shape ${unknown.join(", ")}; shapes: ${SHAPES.map((s) => s.name).join(", ")}`);
  return names.length === 0 ? [...SHAPES] : SHAPES.filter((s) => names.includes(s.name));
}
