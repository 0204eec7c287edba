import * as http2 from "node:http2";
import { codeToString } from "@connectrpc/connect/protocol-connect";

/** How a server answered a {@link rawCall}: the code as the wire spells it (`invalid_argument`, `ok`) and the message. */
export interface RawAnswer {
  code: string;
  message: string;
}

/** The protocols every bad-input row is sent over. */
export type WireProtocol = "connect" | "grpc";

/**
 * Sends `body` unchanged to `path` over h2c, as a Connect unary call or as a gRPC call in one
 * envelope, with the `proto` or `json` codec. For bytes no generated client sends: strings
 * that are not UTF-8, unknown enum names, cut-short messages.
 */
export function rawCall(
  baseUrl: string,
  path: string,
  opts: { protocol: WireProtocol; codec: "proto" | "json"; body: Uint8Array | string },
): Promise<RawAnswer> {
  const body = typeof opts.body === "string" ? Buffer.from(opts.body, "utf8") : Buffer.from(opts.body);
  const grpc = opts.protocol === "grpc";
  const frame = grpc ? Buffer.concat([envelopeHeader(body.length), body]) : body;
  const contentType = grpc ? `application/grpc+${opts.codec}` : `application/${opts.codec}`;
  return new Promise((resolve, reject) => {
    const session = http2.connect(baseUrl);
    const done = (answer: RawAnswer | Error) => {
      session.close();
      if (answer instanceof Error) reject(answer);
      else resolve(answer);
    };
    session.on("error", done);
    const req = session.request({ ":method": "POST", ":path": path, "content-type": contentType, te: "trailers" });
    const chunks: Buffer[] = [];
    let headers: http2.IncomingHttpHeaders = {};
    req.on("response", (h) => (headers = h));
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("trailers", (t: http2.IncomingHttpHeaders) => done(grpcAnswer(t)));
    req.on("end", () => done(grpc ? grpcAnswer(headers) : connectAnswer(headers, Buffer.concat(chunks))));
    // The server may answer and reset the stream before it has read all of a large body.
    req.on("error", () => undefined);
    req.end(frame);
  });
}

function envelopeHeader(length: number): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(length, 1);
  return header;
}

function grpcAnswer(h: http2.IncomingHttpHeaders): RawAnswer {
  const status = Number(h["grpc-status"] ?? Number.NaN);
  const code = Number.isNaN(status) ? "missing grpc-status" : status === 0 ? "ok" : codeToString(status);
  return { code, message: decodeURIComponent(String(h["grpc-message"] ?? "")) };
}

function connectAnswer(h: http2.IncomingHttpHeaders, body: Buffer): RawAnswer {
  if (Number(h[":status"]) === 200) return { code: "ok", message: "" };
  const err = JSON.parse(body.toString("utf8")) as { code?: string; message?: string };
  return { code: err.code ?? "", message: err.message ?? "" };
}

/**
 * `bytes` with the first occurrence of the ASCII `marker` overwritten by `replacement` (same
 * length): builds a message that is valid except for the bytes a test is about.
 */
export function patchBytes(bytes: Uint8Array, marker: string, replacement: number[]): Uint8Array {
  const at = Buffer.from(bytes).indexOf(marker, 0, "latin1");
  if (at < 0 || replacement.length !== marker.length) throw new Error(`marker ${marker} not found or wrong length`);
  const out = Uint8Array.from(bytes);
  out.set(replacement, at);
  return out;
}
