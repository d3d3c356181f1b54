<?php

declare(strict_types=1);

namespace Keyvend\Client\Http;

use Keyvend\Client\Exception\ServerUnavailable;

/**
 * POSTs JSON with ext-curl on one reused handle, so that calls keep their connection alive.
 *
 * Network failures (refused, timed out, reset) become `ServerUnavailable`; HTTP statuses are
 * left to `Protocol` to judge.
 */
final class CurlTransport
{
    private \CurlHandle $handle;

    public function __construct(private readonly float $timeout)
    {
        if ($timeout <= 0) {
            throw new \InvalidArgumentException('timeout must be > 0 seconds');
        }
        $this->handle = curl_init();
    }

    /**
     * @param array<string, mixed> $payload
     * @param list<string> $headers extra request headers, `Name: value`
     */
    public function postJson(string $url, array $payload, array $headers): Response
    {
        $received = [];
        curl_setopt_array($this->handle, [
            CURLOPT_URL => $url,
            CURLOPT_POST => true,
            CURLOPT_POSTFIELDS => json_encode($payload, JSON_THROW_ON_ERROR),
            CURLOPT_HTTPHEADER => ['Content-Type: application/json', 'Accept: application/json', ...$headers],
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_TIMEOUT_MS => (int) ceil($this->timeout * 1000),
            CURLOPT_CONNECTTIMEOUT_MS => (int) ceil($this->timeout * 1000),
            CURLOPT_NOSIGNAL => true, // sub-second timeouts without SIGALRM
            CURLOPT_HEADERFUNCTION => static function ($handle, string $line) use (&$received): int {
                $parts = explode(':', $line, 2);
                if (count($parts) === 2) {
                    $received[strtolower(trim($parts[0]))] = trim($parts[1]);
                }
                return strlen($line);
            },
        ]);
        $body = curl_exec($this->handle);
        if ($body === false) {
            throw $this->failure();
        }
        return new Response(curl_getinfo($this->handle, CURLINFO_RESPONSE_CODE), $received, (string) $body);
    }

    private function failure(): ServerUnavailable
    {
        $errno = curl_errno($this->handle);
        $reason = curl_strerror($errno) ?? 'unknown error';
        if ($errno === CURLE_OPERATION_TIMEDOUT) {
            return new ServerUnavailable("Keyvend did not answer in time ({$reason})");
        }
        return new ServerUnavailable("Cannot reach Keyvend ({$reason})");
    }
}
