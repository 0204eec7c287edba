import type { Socket } from "node:net";

/** Every HTTP/2 connection opens with these 24 bytes (RFC 9113 §3.4); no HTTP/1.1 request does. */
const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** How long a new connection may stay silent before it is dropped, in milliseconds. */
export const SNIFF_TIMEOUT_MS = 10_000;

/**
 * Reads a new connection's first bytes to tell h2c from HTTP/1.1, then puts them back so the
 * chosen server parses the connection from its start. Node's cleartext http2 server cannot
 * fall back to HTTP/1.1 itself (`allowHTTP1` needs TLS), yet gRPC and Kubernetes probes need
 * h2c while curl and browsers speak HTTP/1.1, and both must share one port. Resolves
 * `undefined` (and destroys the socket) when the peer closes or stays silent first.
 */
export function sniffProtocol(socket: Socket, timeoutMs = SNIFF_TIMEOUT_MS): Promise<"h2" | "http1" | undefined> {
  return new Promise((resolve) => {
    let seen = Buffer.alloc(0);
    const settle = (protocol: "h2" | "http1" | undefined): void => {
      socket.off("data", onData).off("end", onGone).off("close", onGone).off("timeout", onGone);
      socket.setTimeout(0);
      if (protocol === undefined) socket.destroy();
      else {
        socket.pause();
        socket.unshift(seen);
      }
      resolve(protocol);
    };
    const onData = (chunk: Buffer): void => {
      seen = Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, HTTP2_PREFACE.length);
      const matches = seen.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n));
      // A short first read ("PRI *", or "P" of "POST") needs more bytes before it decides.
      if (matches && n < HTTP2_PREFACE.length) return;
      settle(matches ? "h2" : "http1");
    };
    const onGone = (): void => settle(undefined);
    socket.on("data", onData).once("end", onGone).once("close", onGone).once("timeout", onGone);
    socket.setTimeout(timeoutMs);
  });
}
