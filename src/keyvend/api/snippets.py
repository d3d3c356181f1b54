"""The key check in PHP (the curl extension) and JavaScript (fetch), as `/docs` shows them.

Both send JSON, which the fast lane answers (`api/hot_path.py`), and read the envelope: a key
that does not exist is an error ("API key does not exist"), not `false`, so both treat any
error as "not valid" and hand back its message. A test runs each against a real server.
"""

from __future__ import annotations

PHP = """<?php
// The key check with PHP's curl extension: true only for a valid key.
function keyvend_check(string $key, ?string &$error = null): bool
{
    $ch = curl_init('{kv}/guest/serviceapikey/check');
    curl_setopt_array($ch, [
        CURLOPT_POST => true,
        CURLOPT_HTTPHEADER => ['Content-Type: application/json'],
        CURLOPT_POSTFIELDS => json_encode(['key' => $key]),
        CURLOPT_RETURNTRANSFER => true,
        CURLOPT_TIMEOUT => 5,
    ]);
    $body = curl_exec($ch);
    curl_close($ch);
    $answer = is_string($body) ? json_decode($body, true) : null;
    if (!is_array($answer)) {
        $error = 'Keyvend did not answer';
        return false;
    }
    $error = $answer['error']['message'] ?? null;
    return $answer['result'] === true;
}
"""

JAVASCRIPT = """// The key check with fetch (browsers, Node 18+, Deno): true only for a valid key.
async function keyvendCheck(key) {
  const response = await fetch("{kv}/guest/serviceapikey/check", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ key }),
  });
  const { result, error } = await response.json();
  return { valid: error === null && result === true, error: error && error.message };
}
"""


def php(kv: str) -> str:
    """The PHP snippet for the API at `kv` (`https://keys.example.com/api`)."""
    return PHP.replace("{kv}", kv)


def javascript(kv: str) -> str:
    """The JavaScript snippet for the API at `kv`."""
    return JAVASCRIPT.replace("{kv}", kv)
