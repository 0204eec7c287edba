import type { Http2Session } from "node:http2";
import type { Socket } from "node:net";

/** What {@link ServerConnections.trackRequest} needs of an HTTP/1.1 or HTTP/2 response. */
interface TrackedResponse {
  once(event: "close", listener: () => void): unknown;
  setHeader(name: string, value: string): unknown;
}

/**
 * The connections, HTTP/2 sessions and in-flight requests of one server, so that closing can
 * drain them: stop new work, let running calls finish within a grace period, then cut what is
 * left. Closing only the listener would leave keep-alive connections and HTTP/2 sessions open
 * and a `close()` that never returns.
 */
export class ServerConnections {
  private readonly sockets = new Set<Socket>();
  /** Sockets that {@link ServerConnections.endIdle} may end: HTTP/1.1, or not yet routed. */
  private readonly endable = new Set<Socket>();
  private readonly sessions = new Set<Http2Session>();
  private inflight = 0;
  private onIdle: (() => void) | undefined;
  private closing = false;

  addSocket(socket: Socket): void {
    this.sockets.add(socket);
    this.endable.add(socket);
    socket.once("close", () => {
      this.sockets.delete(socket);
      this.endable.delete(socket);
    });
  }

  /** Marks `socket` as HTTP/2: its session, not the socket, is closed gracefully. */
  markHttp2(socket: Socket): void {
    this.endable.delete(socket);
  }

  addSession(session: Http2Session): void {
    this.sessions.add(session);
    session.once("close", () => this.sessions.delete(session));
    if (this.closing) session.close();
  }

  /** Counts a request until its response closes; while closing, HTTP/1.1 answers end the connection. */
  trackRequest(req: { httpVersionMajor: number }, res: TrackedResponse): void {
    this.inflight++;
    res.once("close", () => {
      this.inflight--;
      if (this.inflight === 0) this.onIdle?.();
    });
    if (this.closing && req.httpVersionMajor === 1) res.setHeader("connection", "close");
  }

  /**
   * Refuses new work: HTTP/2 sessions get GOAWAY (running streams go on), and HTTP/1.1 answers
   * close their connection from now on.
   */
  beginClose(): void {
    this.closing = true;
    for (const session of this.sessions) session.close();
  }

  /**
   * Resolves once no request is in flight, or at `deadlineMs` (epoch milliseconds), with the
   * number of requests still running then.
   */
  async idle(deadlineMs: number): Promise<number> {
    if (this.inflight === 0) return 0;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.onIdle = resolve;
      timer = setTimeout(resolve, Math.max(0, deadlineMs - Date.now()));
    });
    clearTimeout(timer);
    this.onIdle = undefined;
    return this.inflight;
  }

  /**
   * Ends HTTP/1.1 connections once idle, and connections that have not sent enough to be
   * routed; `end` rather than `destroy` lets the last answer flush.
   */
  endIdle(): void {
    for (const socket of this.endable) socket.end();
  }

  /** Cuts whatever is still open once the grace period is over. */
  destroyAll(): void {
    for (const session of this.sessions) session.destroy();
    for (const socket of this.sockets) socket.destroy();
  }
}
