<?php

declare(strict_types=1);

namespace Keyvend\Client\Tests\Support;

/**
 * A child process started with `proc_open` (no shell), its output in a log file.
 *
 * `stop()` sends SIGTERM and waits for the exit (SIGKILL after a deadline); every process
 * still running when the test run ends is stopped too, so no server outlives the tests.
 */
final class Process
{
    /** @var array<int, self> */
    private static array $running = [];

    /** @var resource */
    private $handle;

    /**
     * @param list<string> $command
     * @param array<string, string> $env
     * @param string|null $errorFile where stderr goes (default: the log file too)
     */
    public function __construct(
        array $command,
        array $env,
        public readonly string $logFile,
        ?string $errorFile = null,
    ) {
        $descriptors = [
            0 => ['file', '/dev/null', 'r'],
            1 => ['file', $logFile, 'a'],
            2 => ['file', $errorFile ?? $logFile, 'a'],
        ];
        $handle = proc_open($command, $descriptors, $pipes, null, $env);
        if ($handle === false) {
            throw new \RuntimeException('cannot start ' . implode(' ', $command));
        }
        $this->handle = $handle;
        self::$running[spl_object_id($this)] = $this;
    }

    public function running(): bool
    {
        return proc_get_status($this->handle)['running'];
    }

    public function log(): string
    {
        return (string) @file_get_contents($this->logFile);
    }

    /** Poll the log (every 20 ms, up to `$seconds`) until it contains `$text`. */
    public function waitForLog(string $text, float $seconds = 60.0): void
    {
        Wait::until(fn (): bool => str_contains($this->log(), $text), $seconds, function (): string {
            return "no '{$text}' in the output of a " . ($this->running() ? 'running' : 'stopped')
                . " process:\n" . $this->log();
        });
    }

    /** Stop the process (once; later calls do nothing). */
    public function stop(): void
    {
        if (!isset(self::$running[spl_object_id($this)])) {
            return;
        }
        unset(self::$running[spl_object_id($this)]);
        if ($this->running()) {
            proc_terminate($this->handle, 15);
            try {
                Wait::until(fn (): bool => !$this->running(), 30.0, fn (): string => 'did not stop');
            } catch (AssertionFailed) {
                proc_terminate($this->handle, 9);
            }
        }
        proc_close($this->handle);
    }

    /** Stop whatever is still running (the runner calls this at the end). */
    public static function stopAll(): void
    {
        foreach (self::$running as $process) {
            $process->stop();
        }
    }

    /** A TCP port nobody listens on right now. */
    public static function freePort(): int
    {
        $socket = stream_socket_server('tcp://127.0.0.1:0', $errno, $error);
        if ($socket === false) {
            throw new \RuntimeException("no free port: {$error}");
        }
        $name = (string) stream_socket_get_name($socket, false);
        fclose($socket);
        return (int) substr($name, strrpos($name, ':') + 1);
    }
}
