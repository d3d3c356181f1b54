<?php

declare(strict_types=1);

namespace Keyvend\Client;

/**
 * The answer of `verify`: whether the key works, why (`code`), and what it may still spend.
 *
 * `code` is a `VerifyCode` for every code this library knows, else the server's string as
 * sent (a newer server may add codes). `quota` is null when the key's product has no quota.
 */
final class Verification
{
    /** @param array<string, mixed> $params */
    public function __construct(
        public readonly bool $valid,
        public readonly VerifyCode|string $code,
        public readonly array $params = [],
        public readonly ?\DateTimeImmutable $expiresAt = null,
        public readonly ?Quota $quota = null,
    ) {
    }

    /** What `verify` answers for a key the server does not know. */
    public static function notFound(): self
    {
        return new self(false, VerifyCode::NotFound);
    }
}
