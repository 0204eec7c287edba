import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { HistoryAdminService } from "@taskflow/proto";
import { retentionOptions } from "../../retention/options.js";
import { runRetentionPass } from "../../retention/run-retention-pass.js";
import type { HistoryDeps } from "../deps.js";

/**
 * RunRetention: one retention pass now, the same the periodic loop runs, or with `dry_run`
 * what it would remove, changing nothing. With RETENTION_DAYS=0 it removes nothing and answers
 * no cutoff. FailedPrecondition when the archive cannot be written (RETENTION_ARCHIVE_DIR
 * missing, not writable, full): nothing of that day or batch was removed, and the call can
 * succeed only once an operator has fixed the directory (the ArchiveError is answered in errors.ts).
 */
export const runRetention = (d: HistoryDeps): ServiceImpl<typeof HistoryAdminService>["runRetention"] => {
  const options = retentionOptions(d);
  return async (req) => {
    const r = await runRetentionPass(options, { dryRun: req.dryRun });
    return {
      cutoff: r.cutoff === undefined ? undefined : timestampFromDate(r.cutoff),
      droppedPartitions: r.droppedPartitions,
      jobsDeleted: BigInt(r.jobsDeleted),
      jobsArchived: BigInt(r.jobsArchived),
      archiveFiles: r.archiveFiles,
    };
  };
};
