import type { DescEnum } from "@bufbuild/protobuf";

/**
 * The text a store keeps for an enum value: its name in the contract without the enum's prefix,
 * in lower case (`JOB_STATUS_PENDING` is "pending", `JOB_EVENT_TYPE_RETRY_SCHEDULED`
 * "retry_scheduled"), so the proto enum is the one place the names are spelled. Undefined for the
 * zero (UNSPECIFIED) value and for numbers the contract lacks.
 */
export function enumText(schema: DescEnum, value: number): string | undefined {
  const v = schema.value[value];
  return v === undefined || v.number === 0 ? undefined : v.localName.toLowerCase();
}

/** The enum value a stored text names (see {@link enumText}); the zero value for unknown text. */
export function enumFromText<T extends number>(schema: DescEnum, text: string): T {
  const wanted = text.toUpperCase();
  const v = schema.values.find((e) => e.number !== 0 && e.localName === wanted);
  return (v?.number ?? 0) as T;
}
