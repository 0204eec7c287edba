import type { JsonObject } from "@bufbuild/protobuf";
import { progressProblem } from "@taskflow/proto";

/** A progress value as a heartbeat carries it. */
export interface ProgressValue {
  percent: number;
  details: JsonObject;
}

/** A value not yet acknowledged by a heartbeat, and how to acknowledge it. */
export interface PendingProgress {
  progress: ProgressValue;
  /** The heartbeat carrying it was answered: it need not be sent again. */
  ack(): void;
}

/**
 * An attempt's latest progress. Only the latest value is sent (values set between two
 * heartbeats are coalesced), once: a heartbeat that fails leaves it pending for the next one.
 */
export class ProgressSlot {
  private value: ProgressValue | undefined;
  private version = 0;
  private acked = 0;

  /**
   * Sets the latest value.
   * @throws RangeError when `percent` is not a number from 0 to 100 or `details` is not a JSON
   *   object of at most 4096 bytes (MAX_PROGRESS_DETAILS_BYTES) as JSON; the previous value stays.
   */
  set(percent: number, details: JsonObject = {}): void {
    const problem = progressProblem(percent, details);
    if (problem !== undefined) throw new RangeError(`progress: ${problem}`);
    // A copy: the handler may go on changing its object, and what is sent is what it reported.
    this.value = { percent, details: JSON.parse(JSON.stringify(details)) as JsonObject };
    this.version += 1;
  }

  /** The latest value when no heartbeat acknowledged it yet. */
  pending(): PendingProgress | undefined {
    if (this.value === undefined || this.version === this.acked) return undefined;
    const version = this.version;
    return { progress: this.value, ack: () => (this.acked = Math.max(this.acked, version)) };
  }
}
