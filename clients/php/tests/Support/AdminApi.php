<?php

declare(strict_types=1);

namespace Keyvend\Client\Tests\Support;

/**
 * The admin half of the FOSSBilling API, authenticated with an admin API token.
 */
final class AdminApi
{
    public function __construct(public readonly string $baseUrl, private readonly string $token)
    {
    }

    /**
     * Call `admin/$path` and return its result; fail the test on an error envelope.
     *
     * @param array<string, mixed> $params
     */
    public function __invoke(string $path, array $params = []): mixed
    {
        $response = Http::request("{$this->baseUrl}/api/admin/{$path}", $params, [], "admin:{$this->token}");
        $body = json_decode($response->body, true);
        if (!is_array($body) || ($body['error'] ?? null) !== null || !array_key_exists('result', $body)) {
            throw new AssertionFailed("admin/{$path} failed: HTTP {$response->status} {$response->body}");
        }
        return $body['result'];
    }
}
