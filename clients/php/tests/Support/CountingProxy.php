<?php

declare(strict_types=1);

namespace Keyvend\Client\Tests\Support;

use Keyvend\Client\Protocol;

/**
 * A reverse proxy (`php -S` with `proxy_router.php`) in front of a real server, counting the
 * requests that pass, so that tests can tell a cache hit from a call to Keyvend.
 */
final class CountingProxy
{
    public readonly string $url;
    private readonly string $requestLog;
    private Process $process;

    public function __construct(string $upstream)
    {
        $port = Process::freePort();
        $this->url = "http://127.0.0.1:{$port}";
        $this->requestLog = (string) tempnam(sys_get_temp_dir(), 'keyvend-proxy-');
        $this->process = new Process(
            [PHP_BINARY, '-S', "127.0.0.1:{$port}", __DIR__ . '/proxy_router.php'],
            [...getenv(), 'KEYVEND_PROXY_UPSTREAM' => $upstream, 'KEYVEND_PROXY_LOG' => $this->requestLog],
            '/dev/null',
        );
        Wait::listening($port);
    }

    /** How many requests for `$path` have passed so far. */
    public function requests(string $path = Protocol::INFO_PATH): int
    {
        $paths = file($this->requestLog, FILE_IGNORE_NEW_LINES) ?: [];
        return count(array_keys($paths, $path, true));
    }

    public function stop(): void
    {
        $this->process->stop();
        @unlink($this->requestLog);
    }
}
