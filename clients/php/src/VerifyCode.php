<?php

declare(strict_types=1);

namespace Keyvend\Client;

/**
 * Why a verified key does or does not work (the server's `code`); only `Valid` works.
 */
enum VerifyCode: string
{
    case Valid = 'VALID';
    /** No such key (never issued, or reset): a result of `verify`, not `KeyNotFound`. */
    case NotFound = 'NOT_FOUND';
    case Disabled = 'DISABLED';
    /** The order's paid time ran out. */
    case Expired = 'EXPIRED';
    case Suspended = 'SUSPENDED';
    case Canceled = 'CANCELED';
    /** The order is not set up yet. */
    case Pending = 'PENDING';
    /** The quota cannot pay the cost; see `Quota::$resetAt`. */
    case UsageExceeded = 'USAGE_EXCEEDED';
    /** The key's own `rate_limit` is reached. */
    case RateLimited = 'RATE_LIMITED';
}
