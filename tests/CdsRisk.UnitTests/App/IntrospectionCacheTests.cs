using CdsRisk.Api.App;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CdsRisk.UnitTests.App;

/// <summary>Issue 18 item 5: introspection answers reused per token, within min(exp, the configured maximum); inactive ones never.</summary>
public sealed class IntrospectionCacheTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 7, 0, 0, 0, TimeSpan.Zero));
    private int _calls;

    private IntrospectionCache Cache(int seconds = 60) => new(Options.Create(new SmartAppOptions { IntrospectionCacheSeconds = seconds }), _time);

    private Func<CancellationToken, Task<SmartIntrospection>> Answer(bool active, long? exp) => _ =>
    {
        _calls++;
        return Task.FromResult(new SmartIntrospection(active, "app", "p1", "Practitioner/x", [], exp));
    };

    private long In(int seconds) => _time.GetUtcNow().AddSeconds(seconds).ToUnixTimeSeconds();

    [Fact]
    public async Task ActiveAnswer_ReusedUntilTheConfiguredMaximum()
    {
        var cache = Cache(60);
        var exp = In(3600);
        await cache.GetAsync("https://ehr/fhir", "t", Answer(true, exp), default);
        _time.Advance(TimeSpan.FromSeconds(59));
        await cache.GetAsync("https://ehr/fhir", "t", Answer(true, exp), default);
        Assert.Equal(1, _calls);
        _time.Advance(TimeSpan.FromSeconds(2));
        await cache.GetAsync("https://ehr/fhir", "t", Answer(true, exp), default);
        Assert.Equal(2, _calls);
    }

    [Fact]
    public async Task ExpiredToken_NotServedFromTheCache()
    {
        var cache = Cache(60);
        await cache.GetAsync("https://ehr/fhir", "t", Answer(true, In(5)), default);
        _time.Advance(TimeSpan.FromSeconds(5));
        var after = await cache.GetAsync("https://ehr/fhir", "t", Answer(false, null), default);
        Assert.False(after.Active);
        Assert.Equal(2, _calls);
    }

    [Fact]
    public async Task InactiveAnswer_NeverReused()
    {
        var cache = Cache(60);
        await cache.GetAsync("https://ehr/fhir", "t", Answer(false, null), default);
        await cache.GetAsync("https://ehr/fhir", "t", Answer(false, null), default);
        Assert.Equal(2, _calls);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public async Task OtherTokenOrOtherEhr_AsksAgain()
    {
        var cache = Cache(60);
        await cache.GetAsync("https://ehr/fhir", "t", Answer(true, In(600)), default);
        await cache.GetAsync("https://ehr/fhir", "u", Answer(true, In(600)), default);
        await cache.GetAsync("https://other/fhir", "t", Answer(true, In(600)), default);
        Assert.Equal(3, _calls);
    }

    [Fact]
    public async Task CacheOff_AsksEveryTime()
    {
        var cache = Cache(0);
        await cache.GetAsync("https://ehr/fhir", "t", Answer(true, In(600)), default);
        await cache.GetAsync("https://ehr/fhir", "t", Answer(true, In(600)), default);
        Assert.Equal(2, _calls);
    }

    [Fact]
    public async Task ManyTokens_CacheStaysBounded()
    {
        var cache = Cache(60);
        for (var i = 0; i < IntrospectionCache.MaxEntries + 50; i++)
        {
            await cache.GetAsync("https://ehr/fhir", "t" + i, Answer(true, In(600)), default);
        }

        Assert.True(cache.Count <= IntrospectionCache.MaxEntries, $"{cache.Count} entries");
    }
}
