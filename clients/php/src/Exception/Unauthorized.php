<?php

declare(strict_types=1);

namespace Keyvend\Client\Exception;

/**
 * The server refused the application token (HTTP 401): fix the configuration.
 *
 * Raised by every call of a client whose `appToken` is wrong or was reset; never cached,
 * retried or covered by `ServeStale`. The message never contains the token.
 */
final class Unauthorized extends KeyvendException
{
    public function __construct(string $message = 'Keyvend refused the application token')
    {
        parent::__construct($message);
    }
}
