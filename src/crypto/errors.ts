/** Why the crypto core refused an operation. */
export type CryptoErrorCode =
  | "INVALID_ARGUMENT"
  | "INVALID_KEY_LENGTH"
  | "INVALID_IV_LENGTH"
  | "INVALID_DATA_LENGTH"
  | "AUTHENTICATION_FAILED"
  | "INTERNAL";

export class CryptoError extends Error {
  readonly code: CryptoErrorCode;
  constructor(code: CryptoErrorCode, message: string) {
    super(message);
    this.name = "CryptoError";
    this.code = code;
  }
}

/** GCM tag mismatch or key-wrap integrity check failure. Carries no detail by design. */
export class AuthenticationError extends CryptoError {
  constructor(what: string) {
    super("AUTHENTICATION_FAILED", `${what}: authentication failed`);
    this.name = "AuthenticationError";
  }
}
