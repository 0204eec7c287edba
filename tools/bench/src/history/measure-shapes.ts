import { Code, ConnectError } from "@connectrpc/connect";
import { type LatencySummary, summarize } from "../percentiles.js";
import { type Probe, type Shape, type ShapeContext, ShapeUnavailable } from "./shape.js";

/** How one shape went. */
export type ShapeResult =
  | { name: string; targetMs: number; summary: LatencySummary; met: boolean; probe: Probe }
  | { name: string; targetMs: number; unavailable: string };

/** Untimed calls before the timed ones: connections, prepared statements and caches warm up. */
export const warmupCalls = (iterations: number): number => Math.max(5, Math.ceil(iterations / 10));

/**
 * Measures `shape`: draws its requests, sends the warm-up calls, then `iterations` timed calls
 * one after another. A shape the service cannot answer yet (unimplemented, an error, an answer
 * that ignores part of the request) comes back unavailable with the reason instead of ending
 * the run; any other error is a fault of the bench and is thrown.
 */
export async function measureShape(shape: Shape, ctx: ShapeContext, iterations: number, signal?: AbortSignal): Promise<ShapeResult> {
  const { name, targetMs } = shape;
  const warmup = warmupCalls(iterations);
  try {
    const probe = await shape.prepare(ctx, warmup + iterations);
    for (let i = 0; i < warmup; i++) await probe.call(i);
    const samples: number[] = [];
    for (let i = warmup; i < warmup + iterations; i++) {
      signal?.throwIfAborted();
      samples.push(await probe.call(i));
    }
    const summary = summarize(samples);
    return { name, targetMs, summary, met: summary.p99 < targetMs, probe };
  } catch (err) {
    const reason = unavailableReason(err);
    if (reason === undefined) throw err;
    return { name, targetMs, unavailable: reason };
  }
}

/** Why a shape is unavailable, or undefined when `err` is not a reason but a fault. */
function unavailableReason(err: unknown): string | undefined {
  if (err instanceof ShapeUnavailable) return err.message;
  if (err instanceof ConnectError) {
    return err.code === Code.Unimplemented ? "unimplemented" : `${Code[err.code]}: ${err.rawMessage}`;
  }
  return undefined;
}
