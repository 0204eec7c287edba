import { Code, ConnectError } from "@connectrpc/connect";
import { CommanderError } from "commander";
import { describe, expect, it } from "vitest";
import { resolveConnection } from "./context.js";
import { describeFailure, UsageError } from "./errors.js";
import { table } from "./format.js";

describe("resolveConnection", () => {
  const env = { TASKFLOW_SCHEDULER_URL: "http://s:1", TASKFLOW_HISTORY_URL: "http://h:2", TASKFLOW_TOKEN: "env-token" };

  it("takes flags over the environment", () => {
    expect(resolveConnection({ scheduler: "http://flag:9", token: "flag-token" }, env)).toEqual({
      schedulerUrl: "http://flag:9",
      historyUrl: "http://h:2",
      token: "flag-token",
    });
  });

  it("falls back to the quick start's ports and no token", () => {
    expect(resolveConnection({}, { TASKFLOW_TOKEN: "" })).toEqual({
      schedulerUrl: "http://127.0.0.1:50051",
      historyUrl: "http://127.0.0.1:50052",
      token: undefined,
    });
  });
});

describe("describeFailure", () => {
  it("gives a refused call's Connect code and exit code 1", () => {
    expect(describeFailure(new ConnectError("job x was not found", Code.NotFound))).toEqual({ message: "not_found: job x was not found", exitCode: 1 });
    expect(describeFailure(new ConnectError("no", Code.PermissionDenied)).message).toBe("permission_denied: no");
  });

  it("gives usage errors exit code 2, and lets help end well", () => {
    expect(describeFailure(new UsageError("bad"))).toEqual({ message: "error: bad", exitCode: 2 });
    expect(describeFailure(new CommanderError(1, "commander.unknownOption", "x")).exitCode).toBe(2);
    expect(describeFailure(new CommanderError(0, "commander.helpDisplayed", "x")).exitCode).toBe(0);
  });
});

describe("table", () => {
  it("pads columns to their widest cell", () => {
    expect(table(["A", "LONG"], [["xyz", "1"], ["q", "22"]])).toBe("A    LONG\nxyz  1\nq    22\n");
    expect(table(["A"], [], "(no jobs)")).toBe("(no jobs)\n");
  });
});
