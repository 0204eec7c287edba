/**
 * A bench child that serves SchedulerService.SubmitJob as TaskFlow's scheduler does on the wire
 * (Connect over HTTP/2, the same adapter) but does nothing: it answers each job as accepted at
 * once, with no Redis, no history, no interceptors. What a submit costs against it is the floor
 * that the transport alone sets on this machine.
 */
import { randomUUID } from "node:crypto";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { JobStatus, SchedulerService } from "@taskflow/proto";
import { tell } from "./protocol.js";

const handler = connectNodeAdapter({
  routes: (router) =>
    router.service(SchedulerService, {
      submitJob: (req) => ({ job: { id: randomUUID(), type: req.type, queue: req.queue, status: JobStatus.PENDING, attempts: 0 } }),
    }),
});
const server = http2.createServer(handler);
server.listen(0, "127.0.0.1", () => tell({ kind: "listening", port: (server.address() as AddressInfo).port }));
process.on("message", () => server.close(() => process.exit(0)));
