/** The errors a Keyvend client throws; all derive from `KeyvendError`. */

/** Base of every error thrown by `keyvend-client`. */
export class KeyvendError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The server does not know the key (it never existed, or it was reset). */
export class KeyNotFound extends KeyvendError {
  constructor() {
    // The key itself is never put into the message: errors end up in logs.
    super("API key does not exist");
  }
}

/** The server refused the call for now; try again after `retryAfter` seconds. */
export class RateLimited extends KeyvendError {
  readonly retryAfter: number;

  constructor(retryAfter: number) {
    super(`Keyvend rate limit reached; retry after ${retryAfter} seconds`);
    this.retryAfter = retryAfter;
  }
}

/** The server could not be reached or did not give a Keyvend answer. */
export class ServerUnavailable extends KeyvendError {}

/**
 * The server refused the application token (HTTP 401): fix the configuration.
 *
 * Thrown by every call of a client whose `appToken` is wrong (or was reset); it is never
 * cached, retried or covered by `ServeStale`. The message never contains the token.
 */
export class Unauthorized extends KeyvendError {
  constructor(message = "Keyvend refused the application token") {
    super(message);
  }
}

/** Any other error envelope from the server, with its message and FOSSBilling code. */
export class ApiError extends KeyvendError {
  readonly apiMessage: string;
  readonly code: number;

  constructor(message: string, code: number) {
    super(`${message} (code ${code})`);
    this.apiMessage = message;
    this.code = code;
  }
}
