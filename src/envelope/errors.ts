// The one error type of edgekms/envelope: a stable code and a message that says what failed and where.

export type EnvelopeErrorCode =
  | "INVALID_ARGUMENT" // bad options or input to the API
  | "MALFORMED_HEADER" // the header does not parse (bad version, lengths, reserved bytes...)
  | "UNSUPPORTED_SUITE" // an algorithm suite id this library does not know
  | "COMMITMENT_POLICY" // the suite is not allowed by the commitment policy
  | "COMMITMENT_MISMATCH" // the header's key commitment does not match the data key
  | "HEADER_AUTH" // the header authentication tag does not verify
  | "MALFORMED_BODY" // a frame does not parse (sequence number, IV, lengths)
  | "TAG_MISMATCH" // a frame's tag does not verify
  | "TRUNCATED" // the message ends early (incomplete header, missing final frame, missing signature)
  | "TRAILING_DATA" // bytes after the end of the message
  | "SIGNATURE" // the signature footer is malformed or does not verify
  | "TOO_MANY_DATA_KEYS" // more encrypted data keys than maxEncryptedDataKeys
  | "ENCRYPTION_CONTEXT" // reserved, missing or mismatched encryption context
  | "NO_DATA_KEY" // no keyring could decrypt any encrypted data key / produce one
  | "KEYRING" // a keyring failed or returned unusable materials
  | "PLAINTEXT_LENGTH" // more plaintext than the declared plaintextLength
  | "LIMIT"; // a format limit (frames per message, field sizes)

export class EnvelopeError extends Error {
  readonly code: EnvelopeErrorCode;
  constructor(code: EnvelopeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EnvelopeError";
    this.code = code;
  }
}

export function fail(code: EnvelopeErrorCode, message: string, cause?: unknown): never {
  throw new EnvelopeError(code, message, cause === undefined ? undefined : { cause });
}
