export * from "./gen/taskflow/v1/job_pb.js";
export * from "./gen/taskflow/v1/scheduler_pb.js";
export * from "./gen/taskflow/v1/worker_pb.js";
export * from "./gen/taskflow/v1/history_pb.js";
export * from "./gen/taskflow/v1/ingest_pb.js";
export * from "./gen/taskflow/v1/admin_pb.js";
export * from "./gen/taskflow/v1/queue_pb.js";
export * from "./enum-text.js";
