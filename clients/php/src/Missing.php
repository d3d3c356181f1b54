<?php

declare(strict_types=1);

namespace Keyvend\Client;

/**
 * "Nothing fresh is cached": the type of `Missing::Miss`, so that null stays a cacheable
 * answer (the server does not know the key).
 *
 * @internal returned by `AnswerCache::fresh`
 */
enum Missing
{
    case Miss;
}
