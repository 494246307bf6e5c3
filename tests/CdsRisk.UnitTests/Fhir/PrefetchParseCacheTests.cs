using System.Text.Json;
using CdsRisk.Api.Fhir;
using Hl7.Fhir.Model;

namespace CdsRisk.UnitTests.Fhir;

public sealed class PrefetchParseCacheTests
{
    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement;

    [Fact]
    public void SameBytesTwice_GiveEqualButSeparateResources_SoOneRequestCannotChangeAnothers()
    {
        using var cache = new PrefetchParseCache();
        var json = Json("""{"resourceType":"Patient","id":"p1","birthDate":"1964-05-01"}""");

        Assert.True(cache.TryParse(json, out var first, out _));
        ((Patient)first!).BirthDate = "1900-01-01";
        Assert.True(cache.TryParse(json, out var second, out _));

        Assert.NotSame(first, second);
        Assert.Equal("1964-05-01", ((Patient)second!).BirthDate);
    }

    [Fact]
    public void InvalidFhir_IsStillRefusedWithItsReason_AndNotCached()
    {
        using var cache = new PrefetchParseCache();
        var bad = Json("""{"resourceType":"Patient","birthDate":"not-a-date"}""");

        Assert.False(cache.TryParse(bad, out var resource, out var error));
        Assert.Null(resource);
        Assert.NotEmpty(error);
        Assert.False(cache.TryParse(bad, out _, out _));
    }
}
