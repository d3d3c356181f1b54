<?php

declare(strict_types=1);

/**
 * A tiny API protected by Keyvend keys, for PHP's built-in server (or any SAPI: it only reads
 * `$_SERVER`). The key comes in the `X-API-Key` header.
 *
 *   GET /forecast  checks the key (cached: one call to Keyvend per key and 30 s)
 *   GET /spend     verifies the key and spends 1 of its quota (a call to Keyvend every time)
 *
 * Run it (from the repository root):
 *
 *   KEYVEND_URL=http://127.0.0.1:8080 KEYVEND_APP_TOKEN=kva_... \
 *     php -d apc.enable_cli=1 -S 127.0.0.1:8000 clients/php/examples/protected_api/index.php
 *   curl -H "X-API-Key: $KEY" http://127.0.0.1:8000/forecast
 */

require __DIR__ . '/../../src/autoload.php'; // with Composer: require 'vendor/autoload.php';

use Keyvend\Client\Cache\ApcuCache;
use Keyvend\Client\Cache\MemoryCache;
use Keyvend\Client\Client;
use Keyvend\Client\Exception\KeyNotFound;
use Keyvend\Client\Exception\KeyvendException;
use Keyvend\Client\Exception\RateLimited;
use Keyvend\Client\VerifyCode;

/** Send `$body` as JSON with `$status` (and `$headers`), and end the request. */
function respond(int $status, array $body, array $headers = []): never
{
    http_response_code($status);
    header('Content-Type: application/json');
    foreach ($headers as $name => $value) {
        header("{$name}: {$value}");
    }
    echo json_encode($body), "\n";
    exit;
}

$keyvend = new Client(
    getenv('KEYVEND_URL') ?: 'http://127.0.0.1:8080',
    appToken: getenv('KEYVEND_APP_TOKEN') ?: null,
    // APCu shares answers between the server's workers; without it, each request asks anew.
    cache: function_exists('apcu_enabled') && apcu_enabled() ? new ApcuCache('keyvend-example:') : new MemoryCache(),
);
$key = trim($_SERVER['HTTP_X_API_KEY'] ?? '');
if ($key === '') {
    respond(401, ['detail' => 'Missing API key: send it in the X-API-Key header']);
}
$path = parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH);

try {
    if ($path === '/forecast') {
        $info = $keyvend->getInfo($key);
        if (!$info->valid) {
            respond(401, ['detail' => 'Invalid API key']);
        }
        respond(200, ['forecast' => 'sunny', 'monthlyLimit' => $info->params['monthlyLimit'] ?? null]);
    }
    if ($path === '/spend') {
        $found = $keyvend->verify($key, cost: 1);
        if ($found->code === VerifyCode::UsageExceeded) {
            respond(429, ['detail' => 'API key quota used up', 'code' => $found->code->value]);
        }
        if (!$found->valid) {
            respond(401, ['detail' => 'Invalid API key']);
        }
        respond(200, ['spent' => 1, 'remaining' => $found->quota?->remaining]);
    }
    respond(404, ['detail' => 'Not found']);
} catch (KeyNotFound) {
    respond(401, ['detail' => 'Invalid API key']);
} catch (RateLimited $busy) {
    respond(503, ['detail' => 'API key verification is busy; try again later'], ['Retry-After' => $busy->retryAfter]);
} catch (KeyvendException) { // fail closed: no answer, no access
    respond(503, ['detail' => 'API key verification is unavailable; try again later']);
}
