<?php

declare(strict_types=1);

namespace Keyvend\Client\Tests;

use Keyvend\Client\Cache\MemoryCache;
use Keyvend\Client\Tests\Support\Assert;

/**
 * The in-process store on its own: LRU order, its bound, and what a miss looks like.
 */
final class MemoryCacheTest
{
    public function testItHoldsAtMostMaxEntriesEvictingTheLeastRecentlyUsed(): void
    {
        $cache = new MemoryCache(maxEntries: 3);
        foreach (['a', 'b', 'c'] as $name) {
            $cache->set($name, $name, 30);
        }
        $cache->get('a'); // used: b is now the least recently used
        $cache->set('d', 'd', 30);

        Assert::same(3, count($cache), 'entries');
        Assert::same(null, $cache->get('b'), 'the least recently used');
        Assert::same(['a', 'c', 'd'], [$cache->get('a'), $cache->get('c'), $cache->get('d')], 'the others');
    }

    public function testStoringAKeyAgainReplacesItAndMakesItRecent(): void
    {
        $cache = new MemoryCache(maxEntries: 2);
        $cache->set('a', 1, 30);
        $cache->set('b', 2, 30);
        $cache->set('a', 3, 30);
        $cache->set('c', 4, 30);

        Assert::same([3, null, 4], [$cache->get('a'), $cache->get('b'), $cache->get('c')], 'values');
    }

    public function testDeleteAndClearForget(): void
    {
        $cache = new MemoryCache();
        $cache->set('a', 1, 30);
        $cache->set('b', 2, 30);
        $cache->delete('a');
        Assert::same([null, 2], [$cache->get('a'), $cache->get('b')], 'after delete');
        $cache->clear();
        Assert::same(0, count($cache), 'entries after clear');
    }

    public function testABoundBelowOneIsRefused(): void
    {
        Assert::throws(\InvalidArgumentException::class, fn () => new MemoryCache(maxEntries: 0));
    }
}
