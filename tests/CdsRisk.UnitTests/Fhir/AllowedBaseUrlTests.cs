using CdsRisk.Api.Fhir;

namespace CdsRisk.UnitTests.Fhir;

public sealed class AllowedBaseUrlTests
{
    private static readonly AllowedBaseUrls Allowed = AllowedBaseUrls.Parse(["https://ehr.example.org/fhir", "http://127.0.0.1:8103/"]);

    [Theory]
    [InlineData("https://ehr.example.org/fhir")]
    [InlineData("https://ehr.example.org/fhir/")]
    [InlineData("https://EHR.example.org/fhir/Patient/1?x=y")]
    [InlineData("HTTPS://ehr.EXAMPLE.org/fhir/Patient/1")]
    [InlineData("https://ehr.example.org:443/fhir/Observation")]
    [InlineData("https://ehr.example.org/fhir/./Patient/1")]
    [InlineData("https://ehr.example.org/fhir/x/../Patient/1")]
    [InlineData("https://ehr.example.org/%66hir/Patient/1")] // an encoded unreserved letter is the letter (RFC 3986 §6.2.2.2)
    [InlineData("https://ehr.example.org/fhir/Patient?identifier=urn:oid:1.2%7C42&x=%2F")] // the query is not the path
    [InlineData("http://127.0.0.1:8103/anything")]
    [InlineData("http://127.0.0.1:8103")]
    public void Admits_UrlsUnderAnAllowedBase(string url) => Assert.True(Allowed.Admits(new Uri(url)));

    [Theory]
    [InlineData("https://ehr.example.org/fhir-evil/Patient/1")]
    [InlineData("https://ehr.example.org.evil.com/fhir/Patient/1")]
    [InlineData("https://ehr.example.org@evil.com/fhir/Patient/1")]
    [InlineData("https://user@ehr.example.org/fhir/Patient/1")]
    [InlineData("http://ehr.example.org/fhir/Patient/1")]
    [InlineData("https://ehr.example.org:8443/fhir/Patient/1")]
    [InlineData("https://ehr.example.org/other/fhir")]
    [InlineData("https://ehr.example.org/FHIR/Patient/1")] // paths are case-sensitive
    [InlineData("https://ehr.example.org/fhir/../admin")]
    [InlineData("https://ehr.example.org/fhir/a/../../admin")]
    [InlineData("https://ehr.example.org/fhir/%2e%2e/admin")]
    [InlineData("https://ehr.example.org/fhir/.%2E/admin")]
    [InlineData("http://127.0.0.1:8104/")]
    [InlineData("http://169.254.169.254/latest/meta-data")]
    [InlineData("file:///etc/passwd")]
    [InlineData("ftp://ehr.example.org/fhir/x")]
    public void Rejects_LookalikesAndOtherOrigins(string url) => Assert.False(Allowed.Admits(new Uri(url)));

    /// <summary>Issue 13 item 19: forms that one decoder reads inside the base and another outside; refused outright, even where the prefix matches.</summary>
    [Theory]
    [InlineData("https://ehr.example.org/fhir/..%2Fadmin")]
    [InlineData("https://ehr.example.org/fhir/..%2fadmin")]
    [InlineData("https://ehr.example.org/fhir/%2E%2E%2Fadmin")]
    [InlineData("https://ehr.example.org/fhir/Patient%2F1")]
    [InlineData("https://ehr.example.org/fhir/..%5Cadmin")]
    [InlineData("https://ehr.example.org/fhir/%5c..%5cadmin")]
    [InlineData("https://ehr.example.org/fhir\\..\\admin")]
    [InlineData("https://ehr.example.org/fhir/Patient\\1")]
    [InlineData("https://ehr.example.org/fhir/%252F..%252Fadmin")] // double encoding
    [InlineData("https://ehr.example.org/fhir/%25")]
    [InlineData("https://ehr.example.org/fhir/Patient/1%00.json")]
    [InlineData("https://ehr.example.org/fhir/Patient/%0A1")]
    [InlineData("https://ehr.example.org/fhir/Patient/%7F")]
    [InlineData("https://ehr.example.org/fhir/..;/admin")] // path parameters (Tomcat-style ..;/)
    [InlineData("https://ehr.example.org/fhir;x=1/Patient/1")]
    [InlineData("https://ehr.example.org/fhir//Patient/1")]
    [InlineData("https://ehr.example.org//fhir/Patient/1")]
    [InlineData("https://ehr.example.org./fhir/Patient/1")] // trailing-dot host
    [InlineData("https://ehr.example.org/fhir/%2e/Patient/1")]
    public void Rejects_EncodedSeparatorsAndOtherAmbiguousForms(string url) => Assert.False(Allowed.Admits(new Uri(url)));

    /// <summary>The DICOMweb allow-list goes through the same rule (issue 13 item 19 names every allow-list).</summary>
    [Theory]
    [InlineData("https://pacs.example.org/dicom-web/studies/1.2.3", true)]
    [InlineData("https://pacs.example.org/dicom-web/..%2Fadmin", false)]
    [InlineData("https://pacs.example.org/dicom-web/%2e%2e/admin", false)]
    [InlineData("https://pacs.example.org/dicom-web/..%5Cadmin", false)]
    [InlineData("https://pacs.example.org/dicom-web/%252F", false)]
    [InlineData("https://pacs.example.org/dicom-web;x/studies", false)]
    [InlineData("https://pacs.example.org./dicom-web/studies", false)]
    public void DicomWebAllowList_UsesTheSameRule(string url, bool allowed) =>
        Assert.Equal(allowed, CdsRisk.Api.DicomWeb.DicomWebServerPolicy.IsAllowed(new Uri(url), ["https://pacs.example.org/dicom-web"]));

    [Fact]
    public void Rejects_EncodedSeparators_InNextLinksResolvedAgainstAnAllowedPage()
    {
        var page = new Uri("https://ehr.example.org/fhir/Condition?patient=p1");

        Assert.True(Allowed.Admits(new Uri(page, "Condition?patient=p1&_offset=20")));
        Assert.False(Allowed.Admits(new Uri(page, "..%2Fadmin")));
        Assert.False(Allowed.Admits(new Uri(page, "../admin")));
    }

    [Theory]
    [InlineData("not a url")]
    [InlineData("ftp://ehr.example.org/")]
    [InlineData("https://ehr.example.org/fhir?x=1")]
    [InlineData("https://ehr.example.org/fhir#top")]
    [InlineData("https://u:p@ehr.example.org/")]
    [InlineData("https://ehr.example.org/fh%2Fir")]
    [InlineData("https://ehr.example.org/fhir%5C")]
    [InlineData("https://ehr.example.org./fhir")]
    public void Rejects_BadConfiguration(string value) => Assert.False(AllowedBaseUrl.TryCreate(value, out _));

    [Theory]
    [InlineData("https://ehr.example.org/fhir", "https://ehr.example.org/fhir/Patient/1", true)]
    [InlineData("https://ehr.example.org/fhir/", "https://ehr.example.org/fhir/Patient/1", true)] // a trailing slash on fhirServer
    [InlineData("https://EHR.example.org:443/fhir", "https://ehr.example.org/fhir/Patient/1", true)]
    [InlineData("https://ehr.example.org/fhir", "https://ehr.example.org/fhir2/Patient/1", false)]
    [InlineData("https://ehr.example.org/fhir/tenant-a", "https://ehr.example.org/fhir/tenant-b/Patient/1", false)]
    public void For_TheHooksOwnBase_ComparesNormalisedForms(string fhirServer, string url, bool admitted) =>
        Assert.Equal(admitted, AllowedBaseUrl.For(new Uri(fhirServer))!.Admits(new Uri(url)));

    [Fact]
    public void For_AnAmbiguousServer_IsNull() => Assert.Null(AllowedBaseUrl.For(new Uri("https://ehr.example.org/fh%2Fir")));

    [Fact]
    public void EmptyList_AdmitsNothing() => Assert.False(AllowedBaseUrls.Parse([]).Admits(new Uri("https://ehr.example.org/fhir")));
}
