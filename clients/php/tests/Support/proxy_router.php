<?php

declare(strict_types=1);

/**
 * The router of `CountingProxy` (`php -S`): log each request's path, then pass it on to
 * `KEYVEND_PROXY_UPSTREAM` and hand back its status, headers and body; a 502 page (as a
 * reverse proxy would send) when the upstream cannot be reached.
 */

$path = (string) parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
file_put_contents((string) getenv('KEYVEND_PROXY_LOG'), $path . "\n", FILE_APPEND | LOCK_EX);

$forwarded = [];
foreach (getallheaders() as $name => $value) {
    if (in_array(strtolower($name), ['authorization', 'content-type', 'accept'], true)) {
        $forwarded[] = "{$name}: {$value}";
    }
}
$returned = [];
$handle = curl_init(getenv('KEYVEND_PROXY_UPSTREAM') . $_SERVER['REQUEST_URI']);
curl_setopt_array($handle, [
    CURLOPT_CUSTOMREQUEST => $_SERVER['REQUEST_METHOD'],
    CURLOPT_POSTFIELDS => file_get_contents('php://input'),
    CURLOPT_HTTPHEADER => $forwarded,
    CURLOPT_RETURNTRANSFER => true,
    CURLOPT_TIMEOUT => 60,
    CURLOPT_HEADERFUNCTION => static function ($handle, string $line) use (&$returned): int {
        $parts = explode(':', $line, 2);
        $name = strtolower(trim($parts[0]));
        if (count($parts) === 2 && ($name === 'content-type' || $name === 'retry-after'
            || str_starts_with($name, 'ratelimit-') || str_starts_with($name, 'x-keyvend-'))) {
            $returned[] = trim($line);
        }
        return strlen($line);
    },
]);
$body = curl_exec($handle);
if ($body === false) {
    http_response_code(502);
    header('Content-Type: text/html');
    echo '<html><body><h1>502 Bad Gateway</h1></body></html>';
    return;
}
http_response_code(curl_getinfo($handle, CURLINFO_RESPONSE_CODE));
foreach ($returned as $line) {
    header($line);
}
echo $body;
