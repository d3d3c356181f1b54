<?php

declare(strict_types=1);

namespace Keyvend\Client\Tests;

use Keyvend\Client\Exception\ApiError;
use Keyvend\Client\Exception\RateLimited;
use Keyvend\Client\Exception\ServerUnavailable;
use Keyvend\Client\Exception\Unauthorized;
use Keyvend\Client\Http\Response;
use Keyvend\Client\Protocol;
use Keyvend\Client\Tests\Support\Assert;
use Keyvend\Client\VerifyCode;

/**
 * Reading envelopes the live tests cannot provoke from a Keyvend server: FOSSBilling's
 * spellings, codes a newer server may add, malformed answers.
 */
final class ProtocolTest
{
    public function testFossbillingSpellingsOfValidAndAnEmptyConfigAreRead(): void
    {
        $info = Protocol::decodeInfo($this->envelope(['valid' => 1, 'config' => []]));

        Assert::same([true, []], [$info?->valid, $info?->params], 'info');
    }

    public function testAVerifyCodeThisLibraryDoesNotKnowComesAsTheServersString(): void
    {
        $found = Protocol::decodeVerification($this->envelope(['valid' => false, 'code' => 'BANNED', 'config' => null]));

        Assert::same('BANNED', $found->code, 'code');
        $known = Protocol::decodeVerification($this->envelope(['valid' => true, 'code' => 'VALID']));
        Assert::same(VerifyCode::Valid, $known->code, 'a known code');
    }

    public function testTimestampsAreReadInUtc(): void
    {
        $found = Protocol::decodeVerification($this->envelope([
            'valid' => true,
            'code' => 'VALID',
            'expires_at' => '2027-01-01T12:00:00+00:00',
            'quota' => ['limit' => 3, 'remaining' => 2, 'reset_at' => '2027-01-01T00:00:00'],
        ]));

        Assert::same('2027-01-01T12:00:00+00:00', $found->expiresAt?->format(DATE_ATOM), 'expiresAt');
        Assert::same('2027-01-01T00:00:00+00:00', $found->quota?->resetAt?->format(DATE_ATOM), 'resetAt');
    }

    public function testErrorEnvelopesBecomeTheirExceptions(): void
    {
        $limited = Assert::throws(RateLimited::class, fn () => Protocol::result($this->error(429, 'Too many', ['retry-after' => '7'])));
        Assert::same(7, $limited->retryAfter, 'retryAfter');
        Assert::throws(Unauthorized::class, fn () => Protocol::result($this->error(201, 'Authentication Failed')));
        $other = Assert::throws(ApiError::class, fn () => Protocol::result($this->error(715, 'Module is not active')));
        Assert::same([715, 'Module is not active'], [$other->apiCode, $other->apiMessage], 'ApiError');
    }

    public function testMalformedAnswersAreServerUnavailable(): void
    {
        $answers = [
            new Response(200, [], '<html>a portal</html>'),
            $this->envelope(['config' => []]),
            $this->envelope(['valid' => true, 'config' => ['not', 'an', 'object']]),
        ];
        foreach ($answers as $answer) {
            Assert::throws(ServerUnavailable::class, fn () => Protocol::decodeInfo($answer));
        }
        $badQuota = $this->envelope(['valid' => true, 'code' => 'VALID', 'quota' => ['limit' => '3']]);
        Assert::throws(ServerUnavailable::class, fn () => Protocol::decodeVerification($badQuota));
    }

    private function envelope(mixed $result): Response
    {
        return new Response(200, [], (string) json_encode(['result' => $result, 'error' => null]));
    }

    /** @param array<string, string> $headers */
    private function error(int $code, string $message, array $headers = []): Response
    {
        return new Response(200, $headers, (string) json_encode(['result' => null, 'error' => ['message' => $message, 'code' => $code]]));
    }
}
