using CdsRisk.Api.App;

namespace CdsRisk.UnitTests.App;

public sealed class SmartAppUnitTests
{
    [Fact]
    public void Pkce_S256_MatchesRfc7636AppendixB()
    {
        // RFC 7636 Appendix B: the example verifier and its challenge.
        Assert.Equal("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", SmartClient.S256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
    }

    [Fact]
    public void RandomToken_Is43Base64UrlCharacters_AndDiffersEachTime()
    {
        var a = SmartClient.RandomToken();
        Assert.Matches("^[A-Za-z0-9_-]{43}$", a);
        Assert.NotEqual(a, SmartClient.RandomToken());
    }

    [Theory]
    [InlineData("""{"assessment":"3f2a-1"}""", "3f2a-1")]
    [InlineData("""{"assessment":"../../api/risk-assessments"}""", null)]
    [InlineData("""{"assessment":"a b"}""", null)]
    [InlineData("""{"assessment":42}""", null)]
    [InlineData("""["assessment"]""", null)]
    [InlineData("not json", null)]
    [InlineData(null, null)]
    public void AppContext_NamesOnlyASafeAssessmentId(string? appContext, string? expected) =>
        Assert.Equal(expected, SmartLaunchEndpoints.AssessmentOf(appContext));

    [Theory]
    [InlineData("=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\"")]
    [InlineData("+1", "'+1")]
    [InlineData("-1", "'-1")]
    [InlineData("@SUM(A1)", "'@SUM(A1)")]
    [InlineData("age; bclc-stage", "age; bclc-stage")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData(null, "")]
    public void CsvInjection_CellsThatASpreadsheetWouldRun_AreQuotedAsText(string? value, string expected) =>
        Assert.Equal(expected, AppEndpoints.Csv(value));

    [Theory]
    [InlineData("s3cret", null, "RS384", true)]
    [InlineData("", "-----BEGIN PRIVATE KEY-----", "RS384", true)]
    [InlineData("", "-----BEGIN PRIVATE KEY-----", "ES384", true)]
    [InlineData("", "-----BEGIN PRIVATE KEY-----", "HS256", false)]
    [InlineData("", null, "RS384", false)]
    public void ConfidentialClient_NeedsASecretOrAPrivateKey(string secret, string? pem, string algorithm, bool valid)
    {
        var options = new SmartAppOptions
        {
            Ehrs = [new SmartEhrOptions { Issuer = "https://ehr.example.org/fhir", ClientId = "app", ClientSecret = secret, PrivateKeyPem = pem, Algorithm = algorithm }],
        };
        Assert.Equal(valid, new SmartAppOptionsValidator().Validate(null, options).Succeeded);
    }

    [Theory]
    [InlineData(-1, false)]
    [InlineData(0, true)]
    [InlineData(60, true)]
    [InlineData(301, false)]
    public void IntrospectionCacheSeconds_IsBounded(int seconds, bool valid) =>
        Assert.Equal(valid, new SmartAppOptionsValidator().Validate(null, new SmartAppOptions { IntrospectionCacheSeconds = seconds }).Succeeded);
}
