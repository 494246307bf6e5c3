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
}
