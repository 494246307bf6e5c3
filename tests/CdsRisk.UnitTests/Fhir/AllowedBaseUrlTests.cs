using CdsRisk.Api.Fhir;

namespace CdsRisk.UnitTests.Fhir;

public sealed class AllowedBaseUrlTests
{
    private static readonly AllowedBaseUrls Allowed = AllowedBaseUrls.Parse(["https://ehr.example.org/fhir", "http://127.0.0.1:8103/"]);

    [Theory]
    [InlineData("https://ehr.example.org/fhir")]
    [InlineData("https://ehr.example.org/fhir/")]
    [InlineData("https://EHR.example.org/fhir/Patient/1?x=y")]
    [InlineData("https://ehr.example.org:443/fhir/Observation")]
    [InlineData("http://127.0.0.1:8103/anything")]
    public void Admits_UrlsUnderAnAllowedBase(string url) => Assert.True(Allowed.Admits(new Uri(url)));

    [Theory]
    [InlineData("https://ehr.example.org/fhir-evil/Patient/1")]
    [InlineData("https://ehr.example.org.evil.com/fhir/Patient/1")]
    [InlineData("https://ehr.example.org@evil.com/fhir/Patient/1")]
    [InlineData("https://user@ehr.example.org/fhir/Patient/1")]
    [InlineData("http://ehr.example.org/fhir/Patient/1")]
    [InlineData("https://ehr.example.org:8443/fhir/Patient/1")]
    [InlineData("https://ehr.example.org/other/fhir")]
    [InlineData("https://ehr.example.org/fhir/../admin")]
    [InlineData("http://127.0.0.1:8104/")]
    [InlineData("http://169.254.169.254/latest/meta-data")]
    [InlineData("file:///etc/passwd")]
    public void Rejects_LookalikesAndOtherOrigins(string url) => Assert.False(Allowed.Admits(new Uri(url)));

    [Theory]
    [InlineData("not a url")]
    [InlineData("ftp://ehr.example.org/")]
    [InlineData("https://ehr.example.org/fhir?x=1")]
    [InlineData("https://u:p@ehr.example.org/")]
    public void Rejects_BadConfiguration(string value) => Assert.False(AllowedBaseUrl.TryCreate(value, out _));

    [Fact]
    public void EmptyList_AdmitsNothing() => Assert.False(AllowedBaseUrls.Parse([]).Admits(new Uri("https://ehr.example.org/fhir")));
}
