<?php

declare(strict_types=1);

namespace Keyvend\Client\Tests\Support;

use Keyvend\Client\Http\Response;

/**
 * Plain HTTP calls for the tests themselves (the admin API, the example app), with ext-curl.
 */
final class Http
{
    /**
     * @param array<string, mixed>|null $json a JSON body to POST; null: GET
     * @param list<string> $headers
     */
    public static function request(string $url, ?array $json = null, array $headers = [], ?string $basicAuth = null): Response
    {
        $handle = curl_init($url);
        $received = [];
        curl_setopt_array($handle, [
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_TIMEOUT => 60, // a busy shared machine can take seconds
            CURLOPT_HTTPHEADER => [...$headers, ...($json === null ? [] : ['Content-Type: application/json'])],
            CURLOPT_HEADERFUNCTION => static function ($handle, string $line) use (&$received): int {
                $parts = explode(':', $line, 2);
                if (count($parts) === 2) {
                    $received[strtolower(trim($parts[0]))] = trim($parts[1]);
                }
                return strlen($line);
            },
        ]);
        if ($json !== null) {
            curl_setopt($handle, CURLOPT_POSTFIELDS, json_encode($json, JSON_THROW_ON_ERROR));
        }
        if ($basicAuth !== null) {
            curl_setopt($handle, CURLOPT_USERPWD, $basicAuth);
        }
        $body = curl_exec($handle);
        if ($body === false) {
            throw new \RuntimeException("{$url}: " . curl_error($handle));
        }
        return new Response(curl_getinfo($handle, CURLINFO_RESPONSE_CODE), $received, (string) $body);
    }
}
