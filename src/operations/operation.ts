// The shape of one KMS operation: its input schema and its run function.
import type { Schema } from "../protocol/validate.js";
import type { OpContext } from "./context.js";

export interface Operation<I = never> {
  name: string;
  schema: Schema;
  /** Whether the operation only reads (CloudTrail readOnly). */
  readOnly: boolean;
  run(ctx: OpContext, input: I): Promise<Record<string, unknown>>;
}

export const defineOperation = <I>(op: Operation<I>): Operation<I> => op;
