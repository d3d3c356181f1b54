<?php

declare(strict_types=1);

namespace Keyvend\Client;

/**
 * A key's quota after a verify: the limit, what is left, and when it starts again
 * (`resetAt` is null for a `total` quota, which never starts again).
 */
final class Quota
{
    public function __construct(
        public readonly int $limit,
        public readonly int $remaining,
        public readonly ?\DateTimeImmutable $resetAt,
    ) {
    }
}
