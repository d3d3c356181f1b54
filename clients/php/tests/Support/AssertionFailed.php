<?php

declare(strict_types=1);

namespace Keyvend\Client\Tests\Support;

/**
 * A test's expectation did not hold.
 */
final class AssertionFailed extends \Exception
{
}
