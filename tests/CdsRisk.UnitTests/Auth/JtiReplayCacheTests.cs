using CdsRisk.Api.Auth;

namespace CdsRisk.UnitTests.Auth;

public sealed class JtiReplayCacheTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 27, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void SecondUseBeforeExpiry_IsRefused()
    {
        var cache = new JtiReplayCache(new ManualTime(Start));

        Assert.True(cache.TryUse("iss", "j1", Start.AddMinutes(5)));
        Assert.False(cache.TryUse("iss", "j1", Start.AddMinutes(5)));
    }

    [Fact]
    public void SameJtiFromAnotherIssuer_IsAnotherToken()
    {
        var cache = new JtiReplayCache(new ManualTime(Start));

        Assert.True(cache.TryUse("a", "j1", Start.AddMinutes(5)));
        Assert.True(cache.TryUse("b", "j1", Start.AddMinutes(5)));
    }

    [Fact]
    public void AfterExpiry_TheEntryIsForgotten()
    {
        var time = new ManualTime(Start);
        var cache = new JtiReplayCache(time);
        Assert.True(cache.TryUse("iss", "j1", Start.AddMinutes(5)));

        time.Now = Start.AddMinutes(6);

        Assert.True(cache.TryUse("iss", "j1", Start.AddMinutes(11)));
        Assert.False(cache.TryUse("iss", "j1", Start.AddMinutes(11)));
    }
}
