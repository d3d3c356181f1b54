<?php

declare(strict_types=1);

namespace Keyvend\Client;

/**
 * The default: raise the error; no answer means no access.
 */
final class FailClosed implements FailurePolicy
{
    public function staleSeconds(): float
    {
        return 0.0;
    }
}
