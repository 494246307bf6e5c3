using CdsRisk.Api.WriteBack;

namespace CdsRisk.UnitTests.WriteBack;

public sealed class OutboxWriterTests
{
    [Theory]
    [InlineData("""{"resourceType":"Bundle","entry":[{"response":{"status":"201","location":"Device/d1/_history/1"}},{"response":{"status":"201","location":"RiskAssessment/ra9/_history/1"}}]}""", "RiskAssessment/ra9")]
    [InlineData("""{"resourceType":"Bundle","entry":[{"response":{"status":"201","location":"http://fhir.test/base/RiskAssessment/ra9/_history/2"}}]}""", "RiskAssessment/ra9")]
    [InlineData("""{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"RiskAssessment","id":"existing"},"response":{"status":"200"}}]}""", "RiskAssessment/existing")]
    [InlineData("""{"resourceType":"Bundle","entry":[{"response":{"status":"201","location":"Device/d1"}}]}""", null)]
    [InlineData("not json", null)]
    public void RiskAssessmentLocation_IsReadFromTheTransactionResponse(string body, string? expected) =>
        Assert.Equal(expected, OutboxWriter.RiskAssessmentLocation(body));

    [Theory]
    [InlineData("user/RiskAssessment.write", true)]
    [InlineData("patient/RiskAssessment.c", true)]
    [InlineData("system/*.cruds", true)]
    [InlineData("user/*.*", true)]
    [InlineData("user/*.read launch openid", false)]
    [InlineData("user/RiskAssessment.rs", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void CanWrite_ReadsSmartV1AndV2Scopes(string? scope, bool expected) =>
        Assert.Equal(expected, FhirCredentials.CanWrite(scope));
}
