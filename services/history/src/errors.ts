import { Code, ConnectError } from "@connectrpc/connect";

/** The request is malformed; retrying it unchanged fails the same way. */
export const invalidArgument = (message: string): ConnectError => new ConnectError(message, Code.InvalidArgument);

/** The request names something history does not hold. */
export const notFound = (message: string): ConnectError => new ConnectError(message, Code.NotFound);
