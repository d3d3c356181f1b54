<?php

declare(strict_types=1);

namespace Keyvend\Client\Tests;

use Keyvend\Client\Client;
use Keyvend\Client\Protocol;
use Keyvend\Client\Quota;
use Keyvend\Client\Tests\Support\Assert;
use Keyvend\Client\Tests\Support\Fixtures;
use Keyvend\Client\Tests\Support\Seed;
use Keyvend\Client\Tests\Support\StartsProcesses;
use Keyvend\Client\VerifyCode;

/**
 * `verify`: the reason a key works or not, spending its quota, never cached.
 */
final class VerifyTest
{
    use StartsProcesses;

    public function testVerifySpendsTheCostUntilTheQuotaIsUsedUp(): void
    {
        $key = Fixtures::seed()->newKey(Fixtures::seed()->meteredId);
        $client = $this->client();

        $first = $client->verify($key);
        Assert::same([true, VerifyCode::Valid], [$first->valid, $first->code], 'first verify');
        Assert::same([Seed::METERED_QUOTA, 2], [$first->quota?->limit, $first->quota?->remaining], 'quota after cost 1');
        Assert::true($first->quota?->resetAt > new \DateTimeImmutable(), 'a monthly quota starts again later');
        Assert::same(0, $client->verify($key, cost: 2)->quota?->remaining, 'remaining after cost 2');
        $refused = $client->verify($key, cost: 1);
        Assert::same([false, VerifyCode::UsageExceeded, 0], [$refused->valid, $refused->code, $refused->quota?->remaining], 'used up');
        $looked = $client->verify($key, cost: 0);
        Assert::same([true, VerifyCode::Valid, 0], [$looked->valid, $looked->code, $looked->quota?->remaining], 'cost 0 only looks');
    }

    public function testARefusedCostSpendsNothing(): void
    {
        $key = Fixtures::seed()->newKey(Fixtures::seed()->meteredId);
        $client = $this->client();

        Assert::same(VerifyCode::UsageExceeded, $client->verify($key, cost: Seed::METERED_QUOTA + 1)->code, 'too dear');
        $all = $client->verify($key, cost: Seed::METERED_QUOTA);
        Assert::same([VerifyCode::Valid, 0], [$all->code, $all->quota?->remaining], 'all of it, still there');
    }

    public function testAKeyWithoutQuotaVerifiesWithItsParamsAndExpiry(): void
    {
        $found = $this->client()->verify(Fixtures::seed()->newKey());

        Assert::same([true, VerifyCode::Valid, null], [$found->valid, $found->code, $found->quota], 'verification');
        Assert::same(['monthlyLimit' => Seed::STARTER_LIMIT], $found->params, 'params');
        Assert::true($found->expiresAt > new \DateTimeImmutable('+27 days'), 'a month of paid time');
    }

    public function testVerifyAnswersEveryKeyWithItsReason(): void
    {
        $seed = Fixtures::seed();
        [$disabledOrder, $disabled] = $seed->newOrder();
        ($seed->admin)('serviceapikey/update', ['order_id' => $disabledOrder, 'valid' => false]);
        [$suspendedOrder, $suspended] = $seed->newOrder();
        ($seed->admin)('order/suspend', ['id' => $suspendedOrder, 'reason' => 'unpaid']);
        $client = $this->client();

        Assert::same(VerifyCode::NotFound, $client->verify('sk_NOT-A-KEY')->code, 'unknown');
        Assert::same(VerifyCode::Disabled, $client->verify($disabled)->code, 'disabled');
        Assert::same(VerifyCode::Suspended, $client->verify($suspended)->code, 'suspended');
        Assert::same(false, $client->verify($suspended)->valid, 'suspended is not valid');
    }

    public function testVerifyIsNeverCachedAndLeavesTheCheckCacheAlone(): void
    {
        $key = Fixtures::seed()->newKey(Fixtures::seed()->meteredId);
        $proxy = $this->startProxy();
        $client = new Client($proxy->url, appToken: Fixtures::seed()->appToken);

        $client->check($key);
        $client->verify($key, cost: 0);
        $client->verify($key, cost: 0);
        $client->check($key);
        Assert::same(2, $proxy->requests(Protocol::VERIFY_PATH), 'verify requests');
        Assert::same(1, $proxy->requests(Protocol::INFO_PATH), 'get_info requests');
    }

    public function testANegativeCostOrAnEmptyKeyIsRefusedWithoutAskingTheServer(): void
    {
        $proxy = $this->startProxy();
        $client = new Client($proxy->url, appToken: Fixtures::seed()->appToken);

        Assert::throws(\InvalidArgumentException::class, fn () => $client->verify('sk_ANY', cost: -1));
        Assert::throws(\InvalidArgumentException::class, fn () => $client->verify(' '));
        Assert::same(VerifyCode::NotFound, $client->verify(str_repeat('A', 601))->code, 'overlong');
        Assert::same(0, $proxy->requests(Protocol::VERIFY_PATH), 'requests');
    }

    private function client(): Client
    {
        return new Client(Fixtures::server()->url, appToken: Fixtures::seed()->appToken);
    }
}
