import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type TimeRange, TimeRangeSchema } from "@taskflow/proto";

/** A half-open time range [from, to); a missing end is unbounded. */
export interface TimeSpan {
  from?: Date;
  to?: Date;
}

/** The contract's TimeRange of a span; undefined for none. */
export function timeRange(span: TimeSpan | undefined): TimeRange | undefined {
  if (span === undefined) return undefined;
  return create(TimeRangeSchema, {
    startTime: span.from === undefined ? undefined : timestampFromDate(span.from),
    endTime: span.to === undefined ? undefined : timestampFromDate(span.to),
  });
}

/** Every item of a paged listing, page after page. */
export async function collectPages<T>(
  fetchPage: (pageToken: string) => Promise<{ items: T[]; nextPageToken: string }>,
): Promise<T[]> {
  const all: T[] = [];
  let pageToken = "";
  do {
    const page = await fetchPage(pageToken);
    all.push(...page.items);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return all;
}
