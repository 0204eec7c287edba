import { describe, expect, it } from "vitest";
import { callersOf, packageOf, selfTimes, type CpuProfile } from "./cpu-profile.js";

const frame = (id: number, functionName: string, url: string, lineNumber = 0) => ({ id, callFrame: { functionName, url, lineNumber } });

describe("packageOf", () => {
  it("names a dependency, a scoped one, Node's own code, a TaskFlow package and a pseudo-frame", () => {
    expect(packageOf("file:///w/node_modules/.pnpm/ioredis@6.0.0/node_modules/ioredis/built/Redis.js", "x")).toBe("ioredis");
    expect(packageOf("file:///w/node_modules/@bufbuild/protobuf/dist/esm/wire/binary-encoding.js", "x")).toBe("@bufbuild/protobuf");
    expect(packageOf("node:internal/http2/core", "x")).toBe("node");
    expect(packageOf("file:///w/services/scheduler/dist/rpc/lease-jobs.js", "x")).toBe("@taskflow/scheduler");
    expect(packageOf("", "(garbage collector)")).toBe("(garbage collector)");
  });
});

describe("selfTimes", () => {
  it("sums each sample's time into its function and package, leaving idle out of the shares", () => {
    const profile: CpuProfile = {
      nodes: [
        frame(1, "(root)", ""),
        frame(2, "(idle)", ""),
        frame(3, "encode", "file:///w/node_modules/@bufbuild/protobuf/dist/esm/to-binary.js", 9),
        frame(4, "leaseJobs", "file:///w/services/scheduler/dist/rpc/lease-jobs.js", 41),
      ],
      samples: [3, 3, 4, 2, 3],
      timeDeltas: [1000, 1000, 2000, 5000, 1000],
    };
    const t = selfTimes(profile);
    expect(t.busyMs).toBe(5);
    expect(t.idleMs).toBe(5);
    expect(t.functions).toEqual([
      { name: "encode esm/to-binary.js:10", ms: 3, pct: 60 },
      { name: "leaseJobs rpc/lease-jobs.js:42", ms: 2, pct: 40 },
    ]);
    expect(t.packages).toEqual([
      { name: "@bufbuild/protobuf", ms: 3, pct: 60 },
      { name: "@taskflow/scheduler", ms: 2, pct: 40 },
    ]);
  });
});

describe("callersOf", () => {
  it("sums the self time of one function per call path, heaviest path first", () => {
    const profile: CpuProfile = {
      nodes: [
        { ...frame(1, "(root)", ""), children: [2, 3] },
        { ...frame(2, "send", "file:///w/node_modules/ioredis/built/Redis.js", 9), children: [4] },
        { ...frame(3, "log", "file:///w/node_modules/pino/lib/proto.js", 1), children: [5] },
        frame(4, "writeUtf8String", ""),
        frame(5, "writeUtf8String", ""),
      ],
      samples: [4, 4, 5, 2],
      timeDeltas: [2000, 2000, 1000, 7000],
    };
    expect(callersOf(profile, "writeUtf8String")).toEqual([
      { path: "writeUtf8String < send built/Redis.js:10 < (root)", ms: 4 },
      { path: "writeUtf8String < log lib/proto.js:2 < (root)", ms: 1 },
    ]);
  });
});
