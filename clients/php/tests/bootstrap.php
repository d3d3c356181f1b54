<?php

declare(strict_types=1);

/**
 * Autoloading for the tests and the benchmark without Composer: the library's own PSR-4
 * fallback, and `Keyvend\Client\Tests\` from this folder.
 */

require __DIR__ . '/../src/autoload.php';

spl_autoload_register(static function (string $class): void {
    $prefix = 'Keyvend\\Client\\Tests\\';
    if (str_starts_with($class, $prefix)) {
        $file = __DIR__ . '/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
        if (is_file($file)) {
            require $file;
        }
    }
});
