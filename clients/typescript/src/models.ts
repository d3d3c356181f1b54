/** What the server tells about a key. */

/** A product's custom parameters (`monthlyLimit`, ...), as the server sent them. */
export type Params = Readonly<Record<string, unknown>>;

/** Validity of a key and the custom parameters of its product. */
export interface KeyInfo {
  readonly valid: boolean;
  readonly params: Params;
}

/** A cached answer: the key's info, or null when the server said the key does not exist. */
export type Answer = KeyInfo | null;

/** Why a verified key does or does not work (the server's `code`). */
export const VerifyCode = Object.freeze({
  VALID: "VALID",
  NOT_FOUND: "NOT_FOUND",
  DISABLED: "DISABLED",
  EXPIRED: "EXPIRED",
  SUSPENDED: "SUSPENDED",
  CANCELED: "CANCELED",
  PENDING: "PENDING",
  USAGE_EXCEEDED: "USAGE_EXCEEDED",
  RATE_LIMITED: "RATE_LIMITED",
} as const);
export type VerifyCode = (typeof VerifyCode)[keyof typeof VerifyCode];

/**
 * A key's quota after a verify: the limit, what is left, and when it starts again.
 * `resetAt` is null for a `total` quota, which never starts again.
 */
export interface Quota {
  readonly limit: number;
  readonly remaining: number;
  readonly resetAt: Date | null;
}

/**
 * The answer of `verify`: whether the key works, why (`code`), and what it may spend.
 *
 * `code` is one of `VerifyCode` for every code this library knows, else the server's string
 * as sent (a newer server may add codes). `quota` is null when the product has no quota.
 */
export interface Verification {
  readonly valid: boolean;
  readonly code: VerifyCode | (string & {});
  readonly params: Params;
  readonly expiresAt: Date | null;
  readonly quota: Quota | null;
}

export const NO_PARAMS: Params = Object.freeze({});

/** What `verify` answers for a key the server does not know. */
export const NOT_FOUND: Verification = Object.freeze({
  valid: false,
  code: VerifyCode.NOT_FOUND,
  params: NO_PARAMS,
  expiresAt: null,
  quota: null,
});
