<?php

declare(strict_types=1);

namespace Keyvend\Client;

use Keyvend\Client\Cache\CacheInterface;
use Keyvend\Client\Cache\MemoryCache;
use Keyvend\Client\Exception\KeyNotFound;
use Keyvend\Client\Exception\RateLimited;
use Keyvend\Client\Exception\ServerUnavailable;
use Keyvend\Client\Http\CurlTransport;

/**
 * Checks API keys against a Keyvend (or FOSSBilling) server, with a local cache.
 *
 * Answers are cached (valid keys `cacheTtl` seconds, invalid or unknown ones `negativeTtl`)
 * in `cache`: a `MemoryCache` by default (this process only), an `ApcuCache` to share them
 * between the workers of a PHP-FPM pool. `onUnavailable` decides what happens when the server
 * cannot answer: `FailClosed` (the default) throws, `ServeStale` serves the last answer for a
 * while. `verify` (quota spending) always asks the server.
 *
 * With `appToken` (from `admin/application/create`) every call sends `Authorization: Bearer
 * <appToken>`: the server counts it against the application, never against this host's
 * guest budgets, so bad keys sent by others cannot get it throttled.
 */
final class Client
{
    private readonly string $infoUrl;
    private readonly string $verifyUrl;
    /** @var list<string> only ever sent, never shown (see __debugInfo) */
    private readonly array $headers;
    private readonly AnswerCache $answers;
    private readonly CurlTransport $http;

    /** @param (\Closure(): float)|null $clock seconds on a monotonic scale; for tests */
    public function __construct(
        private readonly string $baseUrl,
        #[\SensitiveParameter] ?string $appToken = null,
        float $timeout = 5.0,
        float $cacheTtl = 30.0,
        float $negativeTtl = 5.0,
        ?CacheInterface $cache = null,
        FailurePolicy $onUnavailable = new FailClosed(),
        ?\Closure $clock = null,
    ) {
        $root = rtrim($baseUrl, '/');
        $this->infoUrl = $root . Protocol::INFO_PATH;
        $this->verifyUrl = $root . Protocol::VERIFY_PATH;
        $this->headers = self::bearer($appToken);
        $this->http = new CurlTransport($timeout);
        $this->answers = new AnswerCache(
            cache: $cache ?? new MemoryCache(),
            cacheTtl: $cacheTtl,
            negativeTtl: $negativeTtl,
            onUnavailable: $onUnavailable,
            clock: $clock ?? static fn (): float => hrtime(true) / 1e9,
        );
    }

    /** Whether `$key` is valid; `KeyNotFound` if the server does not know it. */
    public function check(string $key): bool
    {
        return $this->getInfo($key)->valid;
    }

    /** Validity and custom parameters of `$key`; `KeyNotFound` if the server does not know it. */
    public function getInfo(string $key): KeyInfo
    {
        $answer = $this->answers->fresh($key);
        if ($answer === Missing::Miss) {
            $answer = $this->canExist($key) ? $this->lookup($key) : null;
        }
        if ($answer === null) {
            throw new KeyNotFound();
        }
        return $answer;
    }

    /**
     * The key's state, and spend `$cost` of its quota (0: only look); never cached.
     *
     * Always a `Verification` for any key (code NotFound for an unknown one). A key that is
     * refused (UsageExceeded, RateLimited, ...) spends nothing. `ServeStale` does not apply.
     */
    public function verify(string $key, int $cost = 1): Verification
    {
        if ($cost < 0) {
            throw new \InvalidArgumentException('cost must be a whole number >= 0');
        }
        if (!$this->canExist($key)) {
            return Verification::notFound();
        }
        $this->answers->checkBackoff();
        $response = $this->http->postJson($this->verifyUrl, ['key' => $key, 'cost' => $cost], $this->headers);
        return $this->answers->settleVerification($response);
    }

    /** Forget the cached answer for `$key` (or all answers): the next check asks the server. */
    public function invalidate(?string $key = null): void
    {
        $this->answers->forget($key);
    }

    /** What var_dump and print_r show: whether there is a token, never what it is. */
    public function __debugInfo(): array
    {
        return ['baseUrl' => $this->baseUrl, 'appToken' => $this->headers === [] ? null : '***'];
    }

    private function lookup(string $key): ?KeyInfo
    {
        try {
            $this->answers->checkBackoff();
            $response = $this->http->postJson($this->infoUrl, ['key' => $key], $this->headers);
            return $this->answers->settle($key, $response);
        } catch (RateLimited|ServerUnavailable $error) {
            return $this->answers->fallback($key, $error);
        }
    }

    /** False for keys too long to exist; `InvalidArgumentException` for an empty key. */
    private function canExist(string $key): bool
    {
        if (trim($key) === '') {
            throw new \InvalidArgumentException('key must be a non-empty string');
        }
        return strlen($key) <= Protocol::MAX_KEY_LENGTH;
    }

    /** @return list<string> the headers that identify the application */
    private static function bearer(#[\SensitiveParameter] ?string $appToken): array
    {
        if ($appToken === null) {
            return [];
        }
        $token = trim($appToken);
        if ($token === '' || preg_match('/^[\x20-\x7E]+$/D', $appToken) !== 1) {
            throw new \InvalidArgumentException('appToken must be a non-empty printable string'); // never echo it
        }
        return ["Authorization: Bearer {$token}"];
    }
}
