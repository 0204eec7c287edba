import type { ServiceImpl } from "@connectrpc/connect";
import { ServerReflection as ServerReflectionV1 } from "@taskflow/proto/gen/grpc/reflection/v1/reflection_pb";
import { ServerReflection as ServerReflectionV1Alpha } from "@taskflow/proto/gen/grpc/reflection/v1alpha/reflection_pb";
import type { ReflectionIndex, ReflectionQuery } from "./reflection-index.js";

export { ServerReflectionV1, ServerReflectionV1Alpha };

/** `grpc.reflection.v1.ServerReflection` over `index`. */
export function createReflectionServiceV1(index: ReflectionIndex): ServiceImpl<typeof ServerReflectionV1> {
  return { serverReflectionInfo: answerEach(index) };
}

/** The same for `grpc.reflection.v1alpha`, which older grpcurl and grpc-js tools still call. */
export function createReflectionServiceV1Alpha(index: ReflectionIndex): ServiceImpl<typeof ServerReflectionV1Alpha> {
  return { serverReflectionInfo: answerEach(index) };
}

/** One answer per request on the bidirectional stream, echoing the request as the protocol asks. */
function answerEach(index: ReflectionIndex) {
  return async function* <R extends { host: string; messageRequest: ReflectionQuery }>(requests: AsyncIterable<R>) {
    for await (const req of requests) {
      yield { validHost: req.host, originalRequest: req, messageResponse: index.answer(req.messageRequest) };
    }
  };
}
