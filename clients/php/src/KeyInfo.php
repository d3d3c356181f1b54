<?php

declare(strict_types=1);

namespace Keyvend\Client;

/**
 * Validity of a key and the custom parameters of its product (`['monthlyLimit' => 250]`).
 */
final class KeyInfo
{
    /** @param array<string, mixed> $params */
    public function __construct(
        public readonly bool $valid,
        public readonly array $params = [],
    ) {
    }
}
