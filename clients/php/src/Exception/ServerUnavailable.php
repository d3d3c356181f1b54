<?php

declare(strict_types=1);

namespace Keyvend\Client\Exception;

/**
 * The server could not be reached (refused, timed out), answered 5xx, or sent something that
 * is not a Keyvend envelope (a proxy's error page, a wrong base URL).
 */
final class ServerUnavailable extends KeyvendException
{
}
