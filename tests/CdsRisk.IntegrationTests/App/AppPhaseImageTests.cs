using System.Net;
using System.Text.RegularExpressions;
using CdsRisk.Api.Scoring;
using CdsRisk.IntegrationTests.TestServers;
using Microsoft.AspNetCore.Mvc.Testing;

namespace CdsRisk.IntegrationTests.App;

/// <summary>
/// Issue 18 item 1: the detail view shows one picture per MRI phase, rendered by the service from the middle slice it reads from
/// Orthanc (DICOMweb), for the launched patient only and only from the patient's own ImagingStudy.
/// </summary>
[Collection("servers")]
public sealed partial class AppPhaseImageTests(TestEnvironment env) : IAsyncLifetime
{
    private const string Base = "http://localhost";
    private SmartAppHarness _app = null!;

    public async Task InitializeAsync()
    {
        _app = new SmartAppHarness(env, Base, clientId: "cdsrisk-app-images");
        await _app.RegisterClientAsync();
    }

    public Task DisposeAsync()
    {
        _app.Dispose();
        return Task.CompletedTask;
    }

    [GeneratedRegex("<img src=\"(/app/assessments/[^\"]+/phases/[A-Za-z]+\\.png)\" alt=\"([^\"]+)\"")]
    private static partial Regex PhaseImg();

    private HttpClient Browser() => _app.Factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true, BaseAddress = new Uri(Base) });

    private Task<(string StudyUid, string ImagingStudy, string Assessment)> SeedAsync(string patient, string? imagingStudyOf = null) =>
        _app.StoreAssessmentWithStudyAsync(patient, imagingStudyOf);

    private async Task LaunchAsync(HttpClient browser, string patient, string assessment)
    {
        using var start = await browser.GetAsync($"/app/launch?iss={Uri.EscapeDataString(_app.Issuer)}&launch={await _app.CreateLaunchAsync(patient, assessment)}");
        var callback = await SmartAppHarness.AuthorizeAsync(start.Headers.Location!);
        using var signedIn = await browser.GetAsync(callback.PathAndQuery);
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
    }

    [Fact]
    public async Task DetailView_ShowsFourPhaseImages_ServedAsPng()
    {
        var patient = await _app.CreatePatientAsync("Una", "Images");
        var (_, _, id) = await SeedAsync(patient);
        using var browser = Browser();
        await LaunchAsync(browser, patient, id);

        var html = await (await browser.GetAsync("/app/assessments/" + id)).Content.ReadAsStringAsync();
        var images = PhaseImg().Matches(html).Select(m => (Src: WebUtility.HtmlDecode(m.Groups[1].Value), Alt: WebUtility.HtmlDecode(m.Groups[2].Value))).ToList();
        Assert.Equal(4, images.Count);
        Assert.Contains(images, i => i.Alt.StartsWith("Arterial phase MRI, middle slice", StringComparison.Ordinal) && i.Alt.Contains("series description", StringComparison.Ordinal));
        Assert.Contains(images, i => i.Alt.StartsWith("Portal venous phase", StringComparison.Ordinal));
        foreach (var (src, _) in images)
        {
            using var image = await browser.GetAsync(src);
            Assert.Equal(HttpStatusCode.OK, image.StatusCode);
            Assert.Equal("image/png", image.Content.Headers.ContentType!.MediaType);
            var bytes = await image.Content.ReadAsByteArrayAsync();
            Assert.Equal([0x89, 0x50, 0x4E, 0x47], bytes[..4]);
            Assert.Equal(64, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16))); // IHDR width: the synthetic slice's columns
            Assert.Contains("private", image.Headers.CacheControl!.ToString(), StringComparison.Ordinal);
        }

        // Images from self only: the page's CSP still allows no other source.
        using var page = await browser.GetAsync("/app/assessments/" + id);
        Assert.Contains("img-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnotherPatientsImage_IsRefused()
    {
        var mine = await _app.CreatePatientAsync("Vic", "Mine");
        var other = await _app.CreatePatientAsync("Wes", "Other");
        var (_, _, myId) = await SeedAsync(mine);
        var (_, _, otherId) = await SeedAsync(other);
        using var browser = Browser();
        await LaunchAsync(browser, mine, myId);
        using var refused = await browser.GetAsync($"/app/assessments/{otherId}/phases/Arterial.png");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.NotEqual("image/png", refused.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task AssessmentPointingAtAnotherPatientsStudy_IsRefused()
    {
        // A record whose ImagingStudy is another patient's: the EHR's ImagingStudy decides, not the record.
        var mine = await _app.CreatePatientAsync("Xan", "Mine");
        var other = await _app.CreatePatientAsync("Yul", "Other");
        var (_, _, id) = await SeedAsync(mine, imagingStudyOf: other);
        using var browser = Browser();
        await LaunchAsync(browser, mine, id);
        using var refused = await browser.GetAsync($"/app/assessments/{id}/phases/Arterial.png");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("image/svg+xml", refused.Content.Headers.ContentType!.MediaType);
        Assert.Contains("not of this patient", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingImage_IsAPlaceholderNotAnError()
    {
        var patient = await _app.CreatePatientAsync("Zed", "Missing");
        var (_, _, id) = await SeedAsync(patient);
        var gone = await _app.StoreAssessmentAsync(patient, "eligible", 0.8, SmartAppHarness.Criteria(("age", "pass", "ok", null, null)),
            studyUid: "1.2.3.4.5.6.7.8.9", imagingStudy: null, phases: [new PhaseSummary("Arterial", "1.2.3.4.5.6.7.8.9.1", "T1 art", null, 9, "DescriptionKeyword", "x")]);
        using var browser = Browser();
        await LaunchAsync(browser, patient, id);

        using var notRecorded = await browser.GetAsync($"/app/assessments/{id}/phases/Hepatobiliary.png");
        Assert.Equal(HttpStatusCode.NotFound, notRecorded.StatusCode);
        Assert.Equal("image/svg+xml", notRecorded.Content.Headers.ContentType!.MediaType);
        Assert.Contains("image not available", await notRecorded.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var noStudy = await browser.GetAsync($"/app/assessments/{gone}/phases/Arterial.png");
        Assert.Equal(HttpStatusCode.NotFound, noStudy.StatusCode);
        Assert.Equal("image/svg+xml", noStudy.Content.Headers.ContentType!.MediaType);
    }
}
