<?php

declare(strict_types=1);

namespace Keyvend\Client\Exception;

/**
 * The server does not know the key (it was never issued, or it was reset).
 */
final class KeyNotFound extends KeyvendException
{
    public function __construct()
    {
        // The key itself is never put into the message: exceptions end up in logs.
        parent::__construct('API key does not exist');
    }
}
