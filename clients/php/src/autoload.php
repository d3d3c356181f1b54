<?php

declare(strict_types=1);

/**
 * PSR-4 autoloading of `Keyvend\Client\` from this folder, for projects without Composer:
 * `require 'path/to/clients/php/src/autoload.php';`. With Composer, its autoloader does this.
 */
spl_autoload_register(static function (string $class): void {
    $prefix = 'Keyvend\\Client\\';
    if (strncmp($class, $prefix, strlen($prefix)) !== 0) {
        return;
    }
    $file = __DIR__ . '/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
    if (is_file($file)) {
        require $file;
    }
});
