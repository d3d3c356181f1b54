<?php

declare(strict_types=1);

namespace Keyvend\Client\Exception;

/**
 * Base of every error the Keyvend client raises, so one `catch` covers them all.
 */
class KeyvendException extends \RuntimeException
{
}
