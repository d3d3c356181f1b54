<?php

declare(strict_types=1);

namespace Keyvend\Client\Tests\Support;

/**
 * A real `keyvend serve` on a free port, working on a data dir; the `keyvend` CLI beside it.
 *
 * The binary comes from env `KEYVEND_BIN`, else the repository's `.venv/bin/keyvend`.
 * Rate limiting is off unless `$env` turns it on (`KEYVEND_RATE_LIMIT_ENABLED=true`).
 */
final class KeyvendServer
{
    public const SECRET = 'php-client-tests-secret-xxxxxxxxxxxxxxxxxxxxxxxx';

    public readonly string $url;
    private Process $process;

    /** @param array<string, string> $env */
    public function __construct(public readonly string $dataDir, array $env = [])
    {
        $port = Process::freePort();
        $this->url = "http://127.0.0.1:{$port}";
        $env = ['KEYVEND_RATE_LIMIT_ENABLED' => 'false', ...$env];
        $log = tempnam($dataDir, 'serve-') . '.log';
        $this->process = new Process(
            [self::binary(), 'serve', '--port', (string) $port],
            self::env($dataDir, $env),
            $log,
        );
        $this->process->waitForLog("Keyvend listening on {$this->url}");
    }

    public function stop(): void
    {
        $this->process->stop();
    }

    /**
     * Run `keyvend ARGS --json` on `$dataDir` and return its JSON object.
     *
     * @return array<string, mixed>
     */
    public static function cli(string $dataDir, string ...$args): array
    {
        $log = tempnam($dataDir, 'cli-');
        $process = new Process([self::binary(), ...$args, '--json'], self::env($dataDir), $log, "{$log}.err");
        Wait::until(fn (): bool => !$process->running(), 120.0, fn (): string => 'keyvend ' . implode(' ', $args) . ' hangs');
        $process->stop();
        $output = $process->log();
        $result = json_decode($output, true);
        if (!is_array($result)) {
            $errors = (string) file_get_contents("{$log}.err");
            throw new \RuntimeException('keyvend ' . implode(' ', $args) . " failed:\n{$output}{$errors}");
        }
        return $result;
    }

    /** The `keyvend` executable the tests run. */
    public static function binary(): string
    {
        $binary = getenv('KEYVEND_BIN') ?: dirname(__DIR__, 4) . '/.venv/bin/keyvend';
        if (!is_executable($binary)) {
            throw new \RuntimeException("no keyvend at {$binary}: set KEYVEND_BIN");
        }
        return $binary;
    }

    /**
     * The environment of a `keyvend` process on `$dataDir`.
     *
     * @param array<string, string> $extra
     * @return array<string, string>
     */
    private static function env(string $dataDir, array $extra = []): array
    {
        return [
            ...getenv(),
            'KEYVEND_DATA_DIR' => $dataDir,
            'KEYVEND_DATABASE_URL' => "sqlite:///{$dataDir}/keyvend.db",
            'KEYVEND_SECRET_KEY' => self::SECRET,
            'KEYVEND_CONFIG' => "{$dataDir}/absent.toml",
            ...$extra,
        ];
    }
}
