<?php

declare(strict_types=1);

namespace Keyvend\Client\Tests\Support;

/**
 * A data dir holding an admin, a client, two products (monthlyLimit 250; a server-side quota
 * of 3 a month) and an application with its token; it makes fresh orders on demand.
 */
final class Seed
{
    public const STARTER_LIMIT = 250;
    public const METERED_QUOTA = 3;

    public function __construct(
        public readonly string $dataDir,
        public readonly AdminApi $admin,
        public readonly int $clientId,
        public readonly int $starterId,
        public readonly int $meteredId,
        public readonly string $appToken,
    ) {
    }

    /**
     * A fresh active order of the client (Starter unless `$productId` says otherwise).
     *
     * @return array{0: int, 1: string} the order id and its key
     */
    public function newOrder(?int $productId = null): array
    {
        $orderId = ($this->admin)('order/create', [
            'client_id' => $this->clientId,
            'product_id' => $productId ?? $this->starterId,
            'period' => '1M',
            'activate' => true,
        ]);
        return [$orderId, ($this->admin)('order/service', ['id' => $orderId])['api_key']];
    }

    /** The key of a fresh active order. */
    public function newKey(?int $productId = null): string
    {
        return $this->newOrder($productId)[1];
    }

    /** Seed `$dataDir`: the admin and client by the `keyvend` CLI, the rest by the admin API of `$server`. */
    public static function create(string $dataDir, callable $startServer): self
    {
        $adminToken = KeyvendServer::cli($dataDir, 'admin', 'create', 'admin@example.com')['api_token'];
        $client = KeyvendServer::cli($dataDir, 'client', 'create', 'jo@example.com', '--first-name', 'Jo');
        $server = $startServer();
        $admin = new AdminApi($server->url, $adminToken);
        return new self(
            dataDir: $dataDir,
            admin: $admin,
            clientId: $client['id'],
            starterId: self::product($admin, 'Starter', []),
            meteredId: self::product($admin, 'Metered', ['quota' => self::METERED_QUOTA]),
            appToken: $admin('application/create', ['name' => 'PHP client tests'])['token'],
        );
    }

    /** @param array<string, mixed> $limits */
    private static function product(AdminApi $admin, string $title, array $limits): int
    {
        $id = $admin('product/prepare', ['title' => $title, 'type' => 'apikey']);
        $config = ['length' => 32, 'split' => 1, 'custom_monthlyLimit' => (string) self::STARTER_LIMIT, ...$limits];
        $admin('product/update_config', ['id' => $id, 'config' => $config]);
        $admin('product/update', ['id' => $id, 'status' => 'enabled', 'setup' => 'after_order']);
        return $id;
    }
}
