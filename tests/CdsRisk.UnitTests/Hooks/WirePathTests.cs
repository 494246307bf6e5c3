using CdsRisk.Api.Hooks;

namespace CdsRisk.UnitTests.Hooks;

public sealed class WirePathTests
{
    [Theory]
    [InlineData("$.context.patientId", "context.patientId")]
    [InlineData("$['prefetch']['labs']", "prefetch.labs")]
    [InlineData("$.feedback[0].card", "feedback[0].card")]
    public void JsonPaths_BecomeWireNames(string jsonPath, string expected) => Assert.Equal(expected, WirePath.FromJsonPath(jsonPath));

    [Theory]
    [InlineData(null)]
    [InlineData("$")]
    public void RootPath_HasNoFieldName(string? jsonPath) => Assert.Null(WirePath.FromJsonPath(jsonPath));

    [Theory]
    [InlineData("Context.PatientId", "context.patientId")]
    [InlineData("Feedback[0].OutcomeTimestamp", "feedback[0].outcomeTimestamp")]
    [InlineData("fhirAuthorization.access_token", "fhirAuthorization.access_token")]
    public void PropertyPaths_BecomeCamelCase(string path, string expected) => Assert.Equal(expected, WirePath.FromPropertyPath(path));
}
