<?php

declare(strict_types=1);

namespace Keyvend\Client\Exception;

/**
 * Any other error envelope from the server, with its message and FOSSBilling code
 * (e.g. 715, module not active).
 */
final class ApiError extends KeyvendException
{
    public function __construct(public readonly string $apiMessage, public readonly int $apiCode)
    {
        parent::__construct("{$apiMessage} (code {$apiCode})", $apiCode);
    }
}
