<?php

declare(strict_types=1);

namespace Keyvend\Client;

use Keyvend\Client\Exception\ApiError;
use Keyvend\Client\Exception\KeyNotFound;
use Keyvend\Client\Exception\RateLimited;
use Keyvend\Client\Exception\ServerUnavailable;
use Keyvend\Client\Exception\Unauthorized;
use Keyvend\Client\Http\Response;

/**
 * The wire format: which URLs to call and what a FOSSBilling envelope means.
 *
 * `{"result": ..., "error": null}` is an answer; `{"result": null, "error": {message, code}}`
 * and HTTP 401 / 429 / 5xx become the library's exceptions, mapped here and nowhere else.
 */
final class Protocol
{
    public const INFO_PATH = '/api/guest/serviceapikey/get_info';
    public const VERIFY_PATH = '/api/guest/serviceapikey/verify';
    public const NO_SUCH_KEY = 'API key does not exist';
    public const RATE_LIMIT_CODE = 429;
    public const UNAUTHORIZED_CODE = 201; // FOSSBilling's "Authentication Failed"
    /** The server refuses longer keys (prefix + 256 hex characters + dashes fit well below). */
    public const MAX_KEY_LENGTH = 600;

    /** A `get_info` answer: the key's info, or null when the key does not exist. */
    public static function decodeInfo(Response $response): ?KeyInfo
    {
        try {
            $result = self::result($response);
        } catch (KeyNotFound) {
            return null;
        }
        if (!is_array($result) || !(is_bool($result['valid'] ?? null) || is_int($result['valid'] ?? null))) {
            throw new ServerUnavailable('Keyvend sent a get_info result without `valid`');
        }
        return new KeyInfo((bool) $result['valid'], self::params($result['config'] ?? null, 'get_info'));
    }

    /** A `verify` answer; an unknown key is a result (NOT_FOUND), not an error. */
    public static function decodeVerification(Response $response): Verification
    {
        try {
            $result = self::result($response);
        } catch (KeyNotFound) { // a server that words it as an error, like get_info does
            return Verification::notFound();
        }
        $valid = is_array($result) ? ($result['valid'] ?? null) : null;
        if (!(is_bool($valid) || is_int($valid)) || !is_string($result['code'] ?? null)) {
            throw new ServerUnavailable('Keyvend sent a verify result without `valid` and `code`');
        }
        return new Verification(
            valid: (bool) $valid,
            code: VerifyCode::tryFrom($result['code']) ?? $result['code'],
            params: self::params($result['config'] ?? null, 'verify'),
            expiresAt: self::timestamp($result['expires_at'] ?? null, 'expires_at'),
            quota: self::quota($result['quota'] ?? null),
        );
    }

    /** The result of a successful envelope; throw the exception any other answer stands for. */
    public static function result(Response $response): mixed
    {
        if ($response->status === 429) {
            throw new RateLimited(self::retryAfter($response));
        }
        if ($response->status >= 500) {
            // 503 is Keyvend's own word for an outage (its database is down): say what it said.
            throw new ServerUnavailable("Keyvend answered HTTP {$response->status}" . self::said($response));
        }
        if ($response->status === 401) {
            throw new Unauthorized('Keyvend refused the application token (HTTP 401)' . self::said($response));
        }
        $body = self::envelope($response);
        if ($body['error'] === null) {
            return $body['result'];
        }
        [$message, $code] = self::messageAndCode($body['error']);
        if ($code === self::RATE_LIMIT_CODE) {
            throw new RateLimited(self::retryAfter($response));
        }
        if ($code === self::UNAUTHORIZED_CODE) {
            throw new Unauthorized('Keyvend refused the application token: ' . substr($message, 0, 200));
        }
        if ($message === self::NO_SUCH_KEY) {
            throw new KeyNotFound();
        }
        throw new ApiError($message, $code);
    }

    /** Whole seconds from a `Retry-After` header; 1 when absent or not a number. */
    public static function retryAfter(Response $response): int
    {
        $value = trim($response->header('retry-after') ?? '');
        return preg_match('/^\d+$/D', $value) === 1 ? max(1, (int) $value) : 1;
    }

    /** @return array<string, mixed> */
    private static function params(mixed $config, string $call): array
    {
        if ($config === null || $config === []) { // PHP servers send an empty object as []
            return [];
        }
        if (!is_array($config) || array_is_list($config)) {
            throw new ServerUnavailable("Keyvend sent a {$call} result whose `config` is not an object");
        }
        return $config;
    }

    private static function timestamp(mixed $value, string $name): ?\DateTimeImmutable
    {
        if ($value === null) {
            return null;
        }
        if (is_string($value)) {
            try {
                return new \DateTimeImmutable($value, new \DateTimeZone('UTC'));
            } catch (\Exception) {
                // fall through to the error below
            }
        }
        throw new ServerUnavailable("Keyvend sent a verify result whose `{$name}` is not a timestamp");
    }

    private static function quota(mixed $value): ?Quota
    {
        if ($value === null) {
            return null;
        }
        if (!is_array($value) || !is_int($value['limit'] ?? null) || !is_int($value['remaining'] ?? null)) {
            throw new ServerUnavailable('Keyvend sent a verify result whose `quota` is malformed');
        }
        $resetAt = self::timestamp($value['reset_at'] ?? null, 'quota.reset_at');
        return new Quota($value['limit'], $value['remaining'], $resetAt);
    }

    private static function said(Response $response): string
    {
        $body = json_decode($response->body, true);
        $message = is_array($body) && is_array($body['error'] ?? null) ? ($body['error']['message'] ?? null) : null;
        return is_string($message) ? ': ' . substr($message, 0, 200) : '';
    }

    /** @return array{result: mixed, error: mixed} */
    private static function envelope(Response $response): array
    {
        $body = json_decode($response->body, true);
        if (!is_array($body) || !array_key_exists('result', $body) || !array_key_exists('error', $body)) {
            throw new ServerUnavailable(
                "Not a Keyvend API answer (HTTP {$response->status}); check the base URL"
            );
        }
        return $body;
    }

    /** @return array{0: string, 1: int} */
    private static function messageAndCode(mixed $error): array
    {
        if (!is_array($error)) {
            return [is_string($error) ? $error : json_encode($error), 0];
        }
        $code = $error['code'] ?? null;
        return [(string) ($error['message'] ?? ''), is_int($code) ? $code : 0];
    }
}
