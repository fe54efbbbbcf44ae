// The one error type of the wire protocol. It renders itself as an AWS JSON 1.1 error
// body; the app's single error handler (protocol/respond.ts) sends it.

/** HTTP status per error type: 400 for client errors, 5xx for server faults (https://docs.aws.amazon.com/kms/latest/APIReference/CommonErrors.html). */
const SERVER_FAULTS: Record<string, number> = {
  KMSInternalException: 500,
  KeyUnavailableException: 500,
  DependencyTimeoutException: 503,
  InternalFailure: 500,
  ServiceUnavailable: 503,
};

export class KmsError extends Error {
  readonly type: string;
  readonly status: number;
  /** Detail for the audit record only; never sent to the caller. */
  readonly auditDetail?: string;

  constructor(type: string, message: string, auditDetail?: string) {
    super(message);
    this.name = type;
    this.type = type;
    this.status = SERVER_FAULTS[type] ?? 400;
    this.auditDetail = auditDetail;
  }

  body(): { __type: string; message: string } {
    return { __type: this.type, message: this.message };
  }
}

/**
 * A caller's text as a message repeats it (and so the request's audit record): its first `max`
 * characters, then "…" if there were more. A surrogate pair is never cut in two.
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = /[\uD800-\uDBFF]/.test(text.charAt(max - 1)) ? max - 1 : max;
  return `${text.slice(0, end)}…`;
}

/** AWS's ValidationException text: the count, then each failure; `more` failures beyond those spelled out are counted only. */
export const validationError = (messages: string[], more = 0): KmsError => {
  const count = messages.length + more;
  return new KmsError(
    "ValidationException",
    `${count} validation error${count === 1 ? "" : "s"} detected: ${messages.join("; ")}${more ? `; and ${more} more` : ""}`,
  );
};

export const notFound = (message: string): KmsError => new KmsError("NotFoundException", message);
