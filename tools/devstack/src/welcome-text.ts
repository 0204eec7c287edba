import type { Stack } from "./start-stack.js";

/** Flags every `buf curl` below needs: the services speak gRPC over cleartext HTTP/2. */
const CURL = "npx buf curl --protocol grpc --http2-prior-knowledge";

/**
 * What `devstack start` prints once the stack is up: the endpoints, and a `buf curl`
 * walk-through that works as printed from the repository folder (buf is a devDependency).
 */
export function welcomeText(stack: Stack): string {
  const { urls, postgres, redis } = stack;
  const submit = `${urls.scheduler}/taskflow.v1.SchedulerService/SubmitJob`;
  const history = `${urls.history}/taskflow.v1.HistoryService`;
  const readId = `node -p 'JSON.parse(require("fs").readFileSync(0, "utf8")).job.id'`;
  return [
    "",
    "TaskFlow is running:",
    `  scheduler   ${urls.scheduler}   (gRPC, Connect and gRPC-Web; server reflection)`,
    `  history     ${urls.history}`,
    ...(urls.worker === undefined ? [] : [`  worker      ${urls.worker}   (health only)`]),
    `  PostgreSQL  ${postgres.url}   (${postgres.source})`,
    `  Redis       ${redis.url}   (${redis.source})`,
    "",
    "Try it, from the repository folder:",
    "  # submit an echo job; the answer is the job, with its id",
    `  ${CURL} -d '{"type":"echo","payload":{"hello":"world"}}' ${submit}`,
    "",
    "  # the same, keeping the id; then the job as history has it, and its audit trail",
    `  JOB_ID=$(${CURL} -d '{"type":"echo","payload":{"hello":"world"}}' ${submit} | ${readId})`,
    `  ${CURL} -d "{\\"id\\":\\"$JOB_ID\\"}" ${history}/GetJob`,
    `  ${CURL} -d "{\\"jobId\\":\\"$JOB_ID\\"}" ${history}/ListJobEvents`,
    "",
    "Press Ctrl-C to stop everything.",
    "",
  ].join("\n");
}
