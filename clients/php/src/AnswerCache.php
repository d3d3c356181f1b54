<?php

declare(strict_types=1);

namespace Keyvend\Client;

use Keyvend\Client\Cache\CacheInterface;
use Keyvend\Client\Exception\RateLimited;
use Keyvend\Client\Exception\ServerUnavailable;
use Keyvend\Client\Http\Response;

/**
 * The client's memory of the server's answers, on top of any `CacheInterface`; does no I/O.
 *
 * Valid keys are fresh for `cacheTtl` seconds, invalid and unknown keys for `negativeTtl` (so
 * that a key re-enabled on the server works again soon); the failure policy keeps them longer
 * to be served stale. After a 429 the server is not asked again before its `Retry-After`
 * has passed: that back-off lives in the cache too, so an APCu cache makes every worker of
 * the pool wait, not only the one that was refused.
 *
 * An entry is a plain array, `[freshUntil, keptUntil, valid, params]` on the client's clock
 * (`valid` null: the server does not know the key), not an object: APCu copies arrays of
 * scalars as they are but unserializes objects, about 4 times slower (0.9 against 0.23 µs).
 *
 * @internal used by `Client`
 */
final class AnswerCache
{
    /** The back-off's entry: the empty key, which `Client` refuses, so no key can overwrite it. */
    private const BACKOFF = '';

    private readonly float $keepFor;

    /** @param \Closure(): float $clock */
    public function __construct(
        private readonly CacheInterface $cache,
        private readonly float $cacheTtl,
        private readonly float $negativeTtl,
        FailurePolicy $onUnavailable,
        private readonly \Closure $clock,
    ) {
        if ($cacheTtl < 0 || $negativeTtl < 0) {
            throw new \InvalidArgumentException('cacheTtl and negativeTtl must be >= 0');
        }
        $this->keepFor = $onUnavailable->staleSeconds();
    }

    /** The cached answer for `$key` (null: an unknown key) if it is still fresh, else `Miss`. */
    public function fresh(string $key): KeyInfo|Missing|null
    {
        $entry = $this->cache->get($key);
        if (!is_array($entry)) {
            return Missing::Miss;
        }
        $now = ($this->clock)();
        if ($now < $entry[0]) {
            return $entry[2] === null ? null : new KeyInfo($entry[2], $entry[3]);
        }
        if ($now >= $entry[1]) {
            $this->cache->delete($key);
        }
        return Missing::Miss;
    }

    /** Throw `RateLimited` while the server's last `Retry-After` has not passed. */
    public function checkBackoff(): void
    {
        $blockedUntil = $this->cache->get(self::BACKOFF);
        if (is_float($blockedUntil)) {
            $remaining = $blockedUntil - ($this->clock)();
            if ($remaining > 0) {
                throw new RateLimited((int) ceil($remaining));
            }
        }
    }

    /** Decode a `get_info` response, remember the answer (or the back-off) and return it. */
    public function settle(string $key, Response $response): ?KeyInfo
    {
        $answer = $this->backingOff(static fn (): ?KeyInfo => Protocol::decodeInfo($response));
        $ttl = $answer !== null && $answer->valid ? $this->cacheTtl : $this->negativeTtl;
        if ($ttl + $this->keepFor > 0) {
            $now = ($this->clock)();
            $entry = [$now + $ttl, $now + $ttl + $this->keepFor, $answer?->valid, $answer?->params ?? []];
            $this->cache->set($key, $entry, (int) ceil($ttl + $this->keepFor));
        }
        return $answer;
    }

    /** Decode a `verify` response; only a back-off is remembered, never the answer. */
    public function settleVerification(Response $response): Verification
    {
        return $this->backingOff(static fn (): Verification => Protocol::decodeVerification($response));
    }

    /** The last known answer when the policy allows serving it, else throw `$error`. */
    public function fallback(string $key, RateLimited|ServerUnavailable $error): ?KeyInfo
    {
        if ($this->keepFor > 0) {
            $entry = $this->cache->get($key);
            if (is_array($entry) && ($this->clock)() < $entry[1]) {
                return $entry[2] === null ? null : new KeyInfo($entry[2], $entry[3]);
            }
        }
        throw $error;
    }

    /** Drop the cached answer for `$key`, or every answer (and the back-off). */
    public function forget(?string $key = null): void
    {
        if ($key === null) {
            $this->cache->clear();
        } else {
            $this->cache->delete($key);
        }
    }

    /**
     * Run `$decode`; when it says the server rate limited us, remember until when.
     *
     * @template T
     * @param \Closure(): T $decode
     * @return T
     */
    private function backingOff(\Closure $decode): mixed
    {
        try {
            return $decode();
        } catch (RateLimited $error) {
            $until = ($this->clock)() + $error->retryAfter;
            $known = $this->cache->get(self::BACKOFF);
            $this->cache->set(self::BACKOFF, max($until, is_float($known) ? $known : 0.0), $error->retryAfter);
            throw $error;
        }
    }
}
