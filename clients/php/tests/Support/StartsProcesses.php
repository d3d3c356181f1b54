<?php

declare(strict_types=1);

namespace Keyvend\Client\Tests\Support;

/**
 * For test classes that start servers or proxies of their own: all are stopped after each test.
 */
trait StartsProcesses
{
    /** @var list<KeyvendServer|CountingProxy|Process> */
    private array $started = [];

    /** A server of this test's own on the shared seed (rate limiting off unless `$env` says so). */
    protected function startServer(array $env = []): KeyvendServer
    {
        return $this->started[] = new KeyvendServer(Fixtures::seed()->dataDir, $env);
    }

    /** A counting proxy in front of `$upstream` (default: the shared server). */
    protected function startProxy(?string $upstream = null): CountingProxy
    {
        return $this->started[] = new CountingProxy($upstream ?? Fixtures::server()->url);
    }

    /** Stop what this test started, the last first. */
    public function tearDown(): void
    {
        foreach (array_reverse($this->started) as $process) {
            $process->stop();
        }
        $this->started = [];
    }
}
