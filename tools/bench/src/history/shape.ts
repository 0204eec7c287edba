import type { Client } from "@connectrpc/connect";
import type { HistoryService } from "@taskflow/proto";
import type { LoadPlan, Timeline } from "./generate-jobs.js";
import type { Random } from "./random.js";
import type { DataFacts } from "./sample-facts.js";

/** A typed Connect client of HistoryService. */
export type HistoryClient = Client<typeof HistoryService>;

/** p99 targets, in milliseconds: every list and search page, and stats over a day. */
export const TARGET_MS = { list: 50, stats: 250 } as const;

/** Jobs per ListJobs page, as the dashboard asks for. */
export const PAGE_SIZE = 50;

/** What shapes draw their parameters from. */
export interface ShapeContext {
  client: HistoryClient;
  /** Parameters of requests; seeded, so runs with one seed ask the same questions. */
  rng: Random;
  plan: LoadPlan;
  tl: Timeline;
  facts: DataFacts;
}

/**
 * Why a shape could not be measured: the RPC is not implemented yet, the answer shows the
 * service ignored part of the request, or the data holds nothing to ask about. The run goes
 * on with the next shape.
 */
export class ShapeUnavailable extends Error {
  override name = "ShapeUnavailable";
}

/** A query shape: the requests it sends and how it recognises a right answer. */
export interface ShapeSpec<Req, Res> {
  name: string;
  targetMs: number;
  /** `n` requests with parameters drawn from the data; may call the service (untimed). */
  requests(ctx: ShapeContext, n: number): Promise<Req[]>;
  send(client: HistoryClient, req: Req): Promise<Res>;
  /** What is wrong with `res` as an answer to `req` (a filter ignored...), or undefined. */
  check(req: Req, res: Res): string | undefined;
}

/** A shape with its request and answer types hidden, as the runner handles them. */
export interface Shape {
  name: string;
  targetMs: number;
  /** Draws `n` requests (untimed) and returns the probe that sends them. */
  prepare(ctx: ShapeContext, n: number): Promise<Probe>;
}

/** Prepared requests of a shape. */
export interface Probe {
  readonly size: number;
  /**
   * Sends request `i` and returns how long the call took, in milliseconds; only the call is
   * timed, not the check of its answer.
   * @throws ShapeUnavailable when the answer does not match the request.
   */
  call(i: number): Promise<number>;
}

/** Turns a typed spec into a {@link Shape}. */
export function defineShape<Req, Res>(spec: ShapeSpec<Req, Res>): Shape {
  return {
    name: spec.name,
    targetMs: spec.targetMs,
    async prepare(ctx, n) {
      const requests = await spec.requests(ctx, n);
      if (requests.length === 0) throw new ShapeUnavailable("no request could be drawn from the data");
      return {
        size: requests.length,
        async call(i) {
          const req = requests[i % requests.length] as Req;
          const started = performance.now();
          const res = await spec.send(ctx.client, req);
          const ms = performance.now() - started;
          const problem = spec.check(req, res);
          if (problem !== undefined) throw new ShapeUnavailable(`answer does not match the request: ${problem}`);
          return ms;
        },
      };
    },
  };
}
