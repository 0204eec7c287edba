import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { createClient, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { connectNodeAdapter, createGrpcTransport } from "@connectrpc/connect-node";
import { WorkerService } from "@taskflow/proto";

type Method = keyof typeof WorkerService.method;

/** One call the relay passed on, in the order the calls began. */
export interface RelayedCall {
  method: Method;
  /** The request as the scheduler received it (a stream's first message). */
  request: any;
  /** The scheduler's answer once it came; undefined while the call runs or when it failed. */
  response?: any;
  /** Every message of a stream, each way, as they passed. */
  requests?: any[];
  responses?: any[];
  /** The error the call ended with. */
  error?: unknown;
  done: boolean;
}

/**
 * A gRPC server in front of a real scheduler that passes every WorkerService call on unchanged
 * and keeps each request and answer, so a test reads what the scheduler received from the SDK
 * (fields that scheduler does not act on yet included). It answers nothing itself. The
 * DispatchJobs stream passes only with `streams: true`; without, the relay is a scheduler that
 * does not serve it (`unimplemented`), as an older one would.
 */
export interface WorkerServiceRelay {
  url: string;
  calls: RelayedCall[];
  /** Calls of `method`, in the order they began. */
  callsOf(method: Method): RelayedCall[];
  close(): Promise<void>;
}

export async function startWorkerServiceRelay(
  schedulerUrl: string,
  opts: { streams?: boolean } = {},
): Promise<WorkerServiceRelay> {
  const upstream = createClient(WorkerService, createGrpcTransport({ baseUrl: schedulerUrl }));
  const calls: RelayedCall[] = [];
  const pass =
    <Req, Res>(method: Method, forward: (req: Req, opts: { signal: AbortSignal; timeoutMs?: number }) => Promise<Res>) =>
    async (req: Req, ctx: HandlerContext): Promise<Res> => {
      const call: RelayedCall = { method, request: req, done: false };
      calls.push(call);
      try {
        call.response = await forward(req, { signal: ctx.signal, timeoutMs: ctx.timeoutMs() });
        return call.response as Res;
      } catch (err) {
        call.error = err;
        throw err;
      } finally {
        call.done = true;
      }
    };
  async function* relayStream(requests: AsyncIterable<any>, ctx: HandlerContext): AsyncGenerator<any> {
    const call: RelayedCall = { method: "dispatchJobs", request: undefined, requests: [], responses: [], done: false };
    calls.push(call);
    async function* tapped(): AsyncGenerator<any> {
      for await (const req of requests) {
        call.request ??= req;
        call.requests!.push(req);
        yield req;
      }
    }
    try {
      for await (const res of upstream.dispatchJobs(tapped(), { signal: ctx.signal })) {
        call.responses!.push(res);
        yield res;
      }
    } catch (err) {
      call.error = err;
      throw err;
    } finally {
      call.done = true;
    }
  }
  const routes = (router: ConnectRouter): void => {
    router.service(WorkerService, {
      registerWorker: pass("registerWorker", (r, o) => upstream.registerWorker(r, o)),
      leaseJobs: pass("leaseJobs", (r, o) => upstream.leaseJobs(r, o)),
      heartbeat: pass("heartbeat", (r, o) => upstream.heartbeat(r, o)),
      reportJobs: pass("reportJobs", (r, o) => upstream.reportJobs(r, o)),
      releaseJobs: pass("releaseJobs", (r, o) => upstream.releaseJobs(r, o)),
      deregisterWorker: pass("deregisterWorker", (r, o) => upstream.deregisterWorker(r, o)),
      ...(opts.streams === true ? { dispatchJobs: relayStream } : {}),
    });
  };
  // Results near the payload limit pass through, as they would reach the scheduler.
  const server = http2.createServer(connectNodeAdapter({ routes, readMaxBytes: 32 * 1024 * 1024 }));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    callsOf: (method) => calls.filter((c) => c.method === method),
    close: async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      // An http2 server's close waits for open sessions; the worker's may still be open.
      for (const s of sessions) s.destroy();
      await closed;
    },
  };
}
