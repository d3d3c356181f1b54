/**
 * Check Keyvend API keys from Node.js: cached, coalesced, with typed errors.
 *
 * `KeyvendClient` asks a Keyvend or FOSSBilling server whether a key is valid and what its
 * custom parameters are, and `verify` spends a key's quota. In live mode (`live: true`) it
 * follows the server's revocation stream and caches valid answers for long. Web integrations
 * live in `keyvend-client/express` and `keyvend-client/fastify`; neither framework is a
 * dependency.
 */

export {
  DEFAULT_HEADER,
  DEFAULT_QUERY_PARAM,
  Denial,
  KeySource,
  VerifiedKey,
  judge,
  type AccessOptions,
  type Cost,
  type KeyChecker,
} from "./access.js";
export { fingerprint } from "./answers.js";
export { monotonic, type Clock } from "./cache.js";
export { KeyvendClient, type KeyvendClientOptions } from "./client.js";
export {
  ApiError,
  KeyNotFound,
  KeyvendError,
  RateLimited,
  ServerUnavailable,
  Unauthorized,
} from "./errors.js";
export { LiveState, type Logger } from "./live.js";
export {
  NOT_FOUND,
  VerifyCode,
  type KeyInfo,
  type Params,
  type Quota,
  type Verification,
} from "./models.js";
export { FAIL_CLOSED, FailClosed, ServeStale, type FailurePolicy } from "./policy.js";
export const VERSION = "0.1.0";
