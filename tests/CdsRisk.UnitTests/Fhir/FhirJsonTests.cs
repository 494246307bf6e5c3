using System.Text;
using CdsRisk.Api.Fhir;
using Hl7.Fhir.Model;

namespace CdsRisk.UnitTests.Fhir;

public sealed class FhirJsonTests
{
    private static (bool Ok, Resource? Resource, string Error) Parse(string json)
    {
        var ok = FhirJson.TryParse(Encoding.UTF8.GetBytes(json), out var resource, out var error);
        return (ok, resource, error);
    }

    [Fact]
    public void ValidPatient_Parses()
    {
        var (ok, resource, _) = Parse("""{"resourceType":"Patient","id":"p1","gender":"female","birthDate":"1960-05-01"}""");

        Assert.True(ok);
        Assert.Equal("1960-05-01", Assert.IsType<Patient>(resource).BirthDate);
    }

    [Fact]
    public void EmptySearchset_Parses() =>
        Assert.Empty(Assert.IsType<Bundle>(Parse("""{"resourceType":"Bundle","type":"searchset","entry":[],"meta":{}}""").Resource).Entry);

    [Fact]
    public void SingleValueWhereAnArrayBelongs_IsRepairedIntoAReadableList()
    {
        var (ok, resource, error) = Parse("""{"resourceType":"MedicationRequest","status":"draft","intent":"order","subject":{"reference":"Patient/1"},"dosageInstruction":[{"doseAndRate":{"doseQuantity":{"value":5}}}]}""");

        Assert.True(ok, error);
        var request = Assert.IsType<MedicationRequest>(resource);
        Assert.Equal(5m, request.DosageInstruction[0].DoseAndRate.Single().Dose is Quantity q ? q.Value : null);
    }

    [Fact]
    public void UnknownElements_AreTolerated()
    {
        var (ok, _, error) = Parse("""{"resourceType":"Patient","id":"p1","someVendorField":{"x":1}}""");
        Assert.True(ok, error);
    }

    [Fact]
    public void MissingRequiredElement_IsTolerated() =>
        Assert.True(Parse("""{"resourceType":"Observation","code":{"text":"AFP"}}""").Ok);

    [Theory]
    [InlineData("""{"id":"p1"}""")]
    [InlineData("""{"resourceType":"NoSuchType"}""")]
    [InlineData("""{"resourceType":"Patient","id":true}""")]
    [InlineData("""{"resourceType":"Patient","id":["a"]}""")]
    [InlineData("""{"resourceType":"Patient","birthDate":"1960-13-45"}""")]
    [InlineData("""{"resourceType":"Patient","gender":"banana"}""")]
    [InlineData("""{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":"many"}}""")]
    [InlineData("""{"resourceType":"Patient","name":"Smith"}""")]
    [InlineData("""[1,2]""")]
    [InlineData("""{"resourceType":"Patient",""")]
    public void ValuesAReaderWouldTripOn_AreRejectedWithAReason(string json)
    {
        var (ok, resource, error) = Parse(json);

        Assert.False(ok);
        Assert.Null(resource);
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void InvalidUtf8_IsRejected() =>
        Assert.False(FhirJson.TryParse([.. "{\"resourceType\":\"Patient\",\"id\":\"p"u8, 0xFF, .. "\"}"u8], out _, out _));

    [Fact]
    public void EveryTruncationAndByteFlip_EndsInAResultNotAnException()
    {
        var json = Encoding.UTF8.GetBytes("""{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Observation","id":"o1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"1834-1"}]},"valueQuantity":{"value":12.5,"unit":"ng/mL"}}}]}""");
        var random = new Random(7);
        for (var i = 0; i < 2000; i++)
        {
            var mutated = json[..random.Next(json.Length + 1)];
            if (i % 2 == 1 && mutated.Length > 0)
            {
                mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
            }

            var ok = FhirJson.TryParse(mutated, out var resource, out var error);
            Assert.True(ok ? resource is not null : error.Length > 0);
        }
    }
}

/// <summary>Issue 13 item 7: resources are counted before anything is built, so a cap can refuse a body without parsing it.</summary>
public sealed class FhirJsonCountTests
{
    private static int Count(string json, int stopAbove = 1000) => FhirJson.CountNestedResources(Encoding.UTF8.GetBytes(json), stopAbove);

    [Fact]
    public void CountsEntriesContainedAndNestedResources_NotTheTopLevelOne()
    {
        Assert.Equal(0, Count("""{"resourceType":"Patient","id":"p1"}"""));
        Assert.Equal(3, Count("""{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Condition"}},{"resource":{"resourceType":"Observation","contained":[{"resourceType":"Device"}]}}]}"""));
        Assert.Equal(0, Count("""{"resourceType":"Bundle","type":"searchset","entry":[]}"""));
    }

    [Fact]
    public void EscapedNamesAndRepeatedEntryMembers_AreCountedToo()
    {
        Assert.Equal(2, Count("""{"resourceType":"Bundle","entry":[{"resource":{"resource\u0054ype":"Observation"}}],"entry":[{"resource":{"resourceType":"Observation"}}]}"""));
    }

    [Fact]
    public void StopsOncePastTheLimit()
    {
        var entries = string.Join(',', Enumerable.Range(0, 10_000).Select(_ => """{"resource":{"resourceType":"Observation"}}"""));
        Assert.Equal(6, Count($$"""{"resourceType":"Bundle","entry":[{{entries}}]}""", stopAbove: 5));
    }

    [Theory]
    [InlineData("""{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Observation"}""")]
    [InlineData("not json")]
    public void InvalidJson_IsMinusOne(string json) => Assert.Equal(-1, Count(json));
}
