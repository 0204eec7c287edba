import type { Stack } from "./start-stack.js";

/** Flags every `buf curl` below needs: the services speak gRPC over cleartext HTTP/2. */
const CURL = "npx buf curl --protocol grpc --http2-prior-knowledge";

/** How to get into the dashboard: with authentication on, its pages ask for a token. */
const dashboardNote = (authentication: string | undefined): string =>
  authentication === undefined
    ? "web pages of the queues, jobs, workers and schedules; open it in a browser"
    : "sign in with a token of AUTH_TOKENS_FILE; the role reader is enough to look";

/**
 * What `devstack start` prints once the stack is up: the endpoints, and a `buf curl`
 * walk-through that works as printed from the repository folder (buf is a devDependency).
 */
export function welcomeText(stack: Stack, authentication?: string): string {
  const { urls, postgres, redis } = stack;
  const submit = `${urls.scheduler}/taskflow.v1.SchedulerService/SubmitJob`;
  const history = `${urls.history}/taskflow.v1.HistoryService`;
  const readId = `node -p 'JSON.parse(require("fs").readFileSync(0, "utf8")).job.id'`;
  // With authentication on, every call names a token of the operator's file.
  const curl = authentication === undefined ? CURL : `${CURL} -H "Authorization: Bearer $TASKFLOW_TOKEN"`;
  return [
    "",
    "TaskFlow is running:",
    ...(urls.dashboard === undefined ? [] : [`  dashboard   ${urls.dashboard}   (${dashboardNote(authentication)})`]),
    `  scheduler   ${urls.scheduler}   (gRPC, Connect and gRPC-Web; server reflection)`,
    `  history     ${urls.history}`,
    ...(urls.worker === undefined ? [] : [`  worker      ${urls.worker}   (health only)`]),
    `  PostgreSQL  ${postgres.url}   (${postgres.source})`,
    `  Redis       ${redis.url}   (${redis.source})`,
    authentication === undefined
      ? "  auth        off: every listener is on loopback (set AUTH_TOKENS_FILE to enforce tokens)"
      : `  auth        ${authentication}`,
    "",
    "Try it, from the repository folder:",
    ...(authentication === undefined ? [] : ["  # TASKFLOW_TOKEN: a token of your tokens file with the roles submitter and reader"]),
    "  # submit an echo job; the answer is the job, with its id",
    `  ${curl} -d '{"type":"echo","payload":{"hello":"world"}}' ${submit}`,
    "",
    "  # the same, keeping the id; then the job as history has it, and its audit trail",
    `  JOB_ID=$(${curl} -d '{"type":"echo","payload":{"hello":"world"}}' ${submit} | ${readId})`,
    `  ${curl} -d "{\\"id\\":\\"$JOB_ID\\"}" ${history}/GetJob`,
    `  ${curl} -d "{\\"jobId\\":\\"$JOB_ID\\"}" ${history}/ListJobEvents`,
    "",
    "Press Ctrl-C to stop everything.",
    "",
  ].join("\n");
}
