import type { ReactNode } from "react";

export function WorkersPage(): ReactNode {
  return <h1>Workers</h1>;
}
