using System.Net;
using Attach.Agent.Broker;
using Attach.Agent.Tests.Support;
using Polly;
using Polly.CircuitBreaker;

namespace Attach.Agent.Tests.Broker;

/// <summary>The pipeline around every call to the broker, on a fake clock.</summary>
public sealed class BrokerResilienceTests
{
    private readonly TimerSignalingTimeProvider _time = new();
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
    private Task<TimeSpan>? _nextTimer;
    private int _attempts;

    public BrokerResilienceTests()
    {
        _pipeline = BrokerResilience.AddStrategies(new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = _time }).Build();
    }

    [Fact]
    public async Task Call_BrokerFailing_IsRetriedWithTheConfiguredAttempts()
    {
        using var response = await CallAsync(HttpStatusCode.ServiceUnavailable);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(1 + BrokerResilience.MaxRetryAttempts, _attempts);
    }

    [Fact]
    public async Task Call_BrokerDown_OpensTheCircuitSoCallsFailAtOnceThenProbesAfterTheBreak()
    {
        // Two heartbeats' worth of failed attempts reach the breaker's minimum throughput.
        (await CallAsync(HttpStatusCode.ServiceUnavailable)).Dispose();
        (await CallAsync(HttpStatusCode.ServiceUnavailable)).Dispose();
        Assert.Equal(BrokerResilience.BreakerMinimumThroughput, _attempts);

        await Assert.ThrowsAsync<BrokenCircuitException>(() => CallAsync(HttpStatusCode.OK));
        Assert.Equal(BrokerResilience.BreakerMinimumThroughput, _attempts);

        _time.Advance(BrokerResilience.BreakDuration);
        using var probe = await CallAsync(HttpStatusCode.OK);
        using var next = await CallAsync(HttpStatusCode.OK);

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (probe.StatusCode, next.StatusCode));
        Assert.Equal(BrokerResilience.BreakerMinimumThroughput + 2, _attempts);
    }

    /// <summary>Runs one call, advancing the clock through its retry delays (never through its timeouts).</summary>
    private async Task<HttpResponseMessage> CallAsync(HttpStatusCode answer)
    {
        var call = _pipeline.ExecuteAsync(_ =>
        {
            Interlocked.Increment(ref _attempts);
            return ValueTask.FromResult(new HttpResponseMessage(answer));
        }).AsTask();
        _nextTimer ??= _time.NextTimerAsync();
        while (await Task.WhenAny(call, _nextTimer) == _nextTimer)
        {
            var due = await _nextTimer;
            _nextTimer = _time.NextTimerAsync();
            // Timeouts' timers (and the infinite ones their token sources start with) are left to run out on their own.
            if (due > TimeSpan.Zero && due != BrokerResilience.TotalTimeout && due != BrokerResilience.AttemptTimeout)
            {
                _time.Advance(due);
            }
        }

        return await call;
    }
}
