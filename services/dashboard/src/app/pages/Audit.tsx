import type { ReactNode } from "react";
import { AuditExport } from "../components/AuditExport.js";
import { OperatorActions } from "../components/OperatorActions.js";

/**
 * The audit trail: every job event of a time range exported as an NDJSON file
 * (HistoryService.ExportAuditTrail), and what operators did (HistoryService.ListOperatorActions).
 */
export function AuditPage(): ReactNode {
  return (
    <>
      <h1>Audit</h1>
      <section aria-labelledby="export-heading">
        <h2 id="export-heading">Export job events</h2>
        <AuditExport />
      </section>
      <section aria-labelledby="actions-heading">
        <h2 id="actions-heading">Operator actions</h2>
        <OperatorActions />
      </section>
    </>
  );
}
