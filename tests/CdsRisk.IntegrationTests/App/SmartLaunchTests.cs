using System.Net;
using CdsRisk.IntegrationTests.TestServers;
using Microsoft.AspNetCore.Mvc.Testing;

namespace CdsRisk.IntegrationTests.App;

/// <summary>
/// Issue 18, launch and trust: the SMART app launched from a card's smart link through the test EHR's SMART double (discovery,
/// authorization code with PKCE S256, token, introspection), and every refusal the issue names.
/// </summary>
[Collection("servers")]
public sealed class SmartLaunchTests(TestEnvironment env) : IAsyncLifetime
{
    private const string Base = "http://localhost";
    private SmartAppHarness _app = null!;

    public async Task InitializeAsync()
    {
        _app = new SmartAppHarness(env, Base);
        await _app.RegisterClientAsync();
    }

    public Task DisposeAsync()
    {
        _app.Dispose();
        return Task.CompletedTask;
    }

    private HttpClient Browser() => _app.Factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true, BaseAddress = new Uri(Base) });

    /// <summary>Launch → authorize → callback, as a browser does; returns the app's answer to the callback.</summary>
    private async Task<HttpResponseMessage> LaunchAsync(HttpClient browser, string? launch, Action<Dictionary<string, string?>>? checkAuthorize = null)
    {
        var start = await browser.GetAsync(launch is null ? $"/app/login?iss={Uri.EscapeDataString(_app.Issuer)}" : $"/app/launch?iss={Uri.EscapeDataString(_app.Issuer)}&launch={launch}");
        Assert.Equal(HttpStatusCode.Redirect, start.StatusCode);
        checkAuthorize?.Invoke(SmartAppHarness.Query(start.Headers.Location!));
        var callback = await SmartAppHarness.AuthorizeAsync(start.Headers.Location!);
        return await browser.GetAsync(callback.PathAndQuery);
    }

    [Fact]
    public async Task EhrLaunchFromCardLink_UsesPkceS256AndOpensTheAssessment()
    {
        var patient = await _app.CreatePatientAsync("Ada", "<script>alert(1)</script>Lovelace");
        var id = await _app.StoreAssessmentAsync(patient, "eligible", 0.71, SmartAppHarness.Criteria(("age", "pass", "Age 65 within 18–80", "Patient/" + patient, null)));
        using var browser = Browser();
        var launch = await _app.CreateLaunchAsync(patient, id);

        using var callback = await LaunchAsync(browser, launch, q =>
        {
            Assert.Equal("code", q["response_type"]);
            Assert.Equal("S256", q["code_challenge_method"]);
            Assert.Equal(43, q["code_challenge"]!.Length); // base64url of a SHA-256, no padding
            Assert.Equal(_app.Issuer, q["aud"]);
            Assert.Equal(launch, q["launch"]);
            Assert.Contains("launch", q["scope"]!.Split(' '));
            Assert.Contains("openid", q["scope"]!.Split(' '));
            Assert.Contains("fhirUser", q["scope"]!.Split(' '));
            Assert.True(q["state"]!.Length >= 32);
        });
        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal("/app/assessments/" + id, callback.Headers.Location!.OriginalString);

        using var page = await browser.GetAsync(callback.Headers.Location);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("Potential candidate for trial NCT07282184: refer to the trial team.", html, StringComparison.Ordinal);
        Assert.Contains("not for clinical use", html, StringComparison.Ordinal);
        // The name read from the EHR with the launch's token is HTML-encoded, never markup.
        Assert.True(html.Contains("&lt;script&gt;alert(1)&lt;/script&gt;Lovelace", StringComparison.Ordinal), html[..Math.Min(1500, html.Length)]);
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.Contains("default-src 'none'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AssessmentOfAnotherPatient_Returns403()
    {
        var mine = await _app.CreatePatientAsync("Ann", "Mine");
        var other = await _app.CreatePatientAsync("Bob", "Other");
        var myId = await _app.StoreAssessmentAsync(mine, "eligible", 0.7, SmartAppHarness.Criteria(("age", "pass", "ok", null, null)));
        var otherId = await _app.StoreAssessmentAsync(other, "eligible", 0.9, SmartAppHarness.Criteria(("age", "pass", "ok", null, null)));
        using var browser = Browser();
        using var callback = await LaunchAsync(browser, await _app.CreateLaunchAsync(mine, myId));
        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);

        using var forbidden = await browser.GetAsync("/app/assessments/" + otherId);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.DoesNotContain("Bob", await forbidden.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var home = await browser.GetAsync("/app/");
        var list = await home.Content.ReadAsStringAsync();
        Assert.Contains(myId, list, StringComparison.Ordinal);
        Assert.DoesNotContain(otherId, list, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AssessmentOfAnotherEhr_Returns403()
    {
        var patient = await _app.CreatePatientAsync("Cy", "Elsewhere");
        var mine = await _app.StoreAssessmentAsync(patient, "eligible", 0.7, SmartAppHarness.Criteria(("age", "pass", "ok", null, null)));
        var sameIdOtherEhr = await _app.StoreAssessmentAsync(patient, "eligible", 0.7, SmartAppHarness.Criteria(("age", "pass", "ok", null, null)), fhirServer: "https://other-ehr.example.org/fhir");
        using var browser = Browser();
        await LaunchAsync(browser, await _app.CreateLaunchAsync(patient, mine));
        using var forbidden = await browser.GetAsync("/app/assessments/" + sameIdOtherEhr);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
    }

    [Fact]
    public async Task LaunchFromIssNotOnAllowList_IsRefusedWithoutContactingIt()
    {
        using var browser = Browser();
        using var response = await browser.GetAsync("/app/launch?iss=" + Uri.EscapeDataString("http://127.0.0.1:9/fhir") + "&launch=x");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("not configured to launch the app", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Null(response.Headers.Location);
    }

    [Fact]
    public async Task CallbackWithForeignState_IsRefused()
    {
        var patient = await _app.CreatePatientAsync("Di", "State");
        using var victim = Browser();
        using var attacker = Browser();
        var start = await attacker.GetAsync($"/app/launch?iss={Uri.EscapeDataString(_app.Issuer)}&launch={await _app.CreateLaunchAsync(patient, null)}");
        var callback = await SmartAppHarness.AuthorizeAsync(start.Headers.Location!);
        // Login CSRF: the attacker's callback URL (its code and state) opened in the victim's browser, which never started a launch.
        using var refused = await victim.GetAsync(callback.PathAndQuery);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.False(refused.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith("cdsrisk.app=", StringComparison.Ordinal)));
        // And a tampered state in the right browser is refused too.
        var tampered = callback.PathAndQuery.Replace("state=", "state=x", StringComparison.Ordinal);
        using var refused2 = await attacker.GetAsync(tampered);
        Assert.Equal(HttpStatusCode.BadRequest, refused2.StatusCode);
    }

    /// <summary>Also with the introspection cache on (issue 18 item 5): an answer is never reused past the token's exp.</summary>
    [Fact]
    public async Task ExpiredToken_AsksForRelaunch()
    {
        var patient = await _app.CreatePatientAsync("Ed", "Expired");
        var id = await _app.StoreAssessmentAsync(patient, "needs-data", null, SmartAppHarness.Criteria(("afp", "unknown", "No AFP in 30 days", null, "AFP (LOINC 1834-1)")));
        using var browser = Browser();
        await LaunchAsync(browser, await _app.CreateLaunchAsync(patient, id, tokenSeconds: 2));
        using var before = await browser.GetAsync("/app/assessments/" + id);
        Assert.Equal(HttpStatusCode.OK, before.StatusCode);

        await Task.Delay(TimeSpan.FromSeconds(3.5)); // past the token's exp (whole seconds), well inside the 60 s cache window
        using var after = await browser.GetAsync("/app/assessments/" + id);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        Assert.Contains("Launch the app again", await after.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StandaloneLaunchWithoutRole_IsRefused()
    {
        await _app.SetStandaloneUserAsync();
        using var browser = Browser();
        using var refused = await LaunchAsync(browser, null);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        using var log = await browser.GetAsync("/app/screening-log");
        Assert.Equal(HttpStatusCode.Unauthorized, log.StatusCode);
    }

    [Fact]
    public async Task ClinicianFromCard_CannotOpenScreeningLog()
    {
        var patient = await _app.CreatePatientAsync("Flo", "Clinician");
        var id = await _app.StoreAssessmentAsync(patient, "ineligible", null, SmartAppHarness.Criteria(("bclc-stage", "fail", "BCLC C", null, null)));
        using var browser = Browser();
        await LaunchAsync(browser, await _app.CreateLaunchAsync(patient, id));
        using var log = await browser.GetAsync("/app/screening-log");
        Assert.Equal(HttpStatusCode.Forbidden, log.StatusCode);
    }

    [Fact]
    public async Task TrialTeam_SeesScreeningLogCsvFlowAndMonitoring()
    {
        var p1 = await _app.CreatePatientAsync("Gil", "Log");
        var eligible = await _app.StoreAssessmentAsync(p1, "eligible", 0.8, SmartAppHarness.Criteria(("age", "pass", "ok", null, null)));
        var ineligible = await _app.StoreAssessmentAsync(p1, "ineligible", null, SmartAppHarness.Criteria(("bclc-stage", "fail", "BCLC C", null, null)));
        await _app.SetStandaloneUserAsync(SmartAppHarness.TrialTeamRole);
        using var browser = Browser();
        using var callback = await LaunchAsync(browser, null, q => Assert.False(q.ContainsKey("launch")));
        Assert.Equal("/app/screening-log", callback.Headers.Location!.OriginalString);

        var log = await (await browser.GetAsync("/app/screening-log")).Content.ReadAsStringAsync();
        Assert.Contains(eligible, log, StringComparison.Ordinal);
        Assert.Contains(ineligible, log, StringComparison.Ordinal);
        var filtered = await (await browser.GetAsync("/app/screening-log?outcome=ineligible")).Content.ReadAsStringAsync();
        Assert.DoesNotContain(eligible, filtered, StringComparison.Ordinal);

        using var csv = await browser.GetAsync("/app/screening-log.csv?outcome=ineligible");
        Assert.Equal("text/csv", csv.Content.Headers.ContentType!.MediaType);
        var lines = (await csv.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("assessment_id,assessed_at,patient,outcome,pre_score,model,deciding_criteria,feedback,referred", lines[0], StringComparison.Ordinal);
        var row = Assert.Single(lines, l => l.StartsWith(ineligible, StringComparison.Ordinal));
        Assert.Contains(",ineligible,", row, StringComparison.Ordinal);
        Assert.Contains("bclc-stage", row, StringComparison.Ordinal);

        var flow = await (await browser.GetAsync("/app/screening-flow")).Content.ReadAsStringAsync();
        Assert.Contains("<svg", flow, StringComparison.Ordinal);
        Assert.Contains("by bclc-stage", flow, StringComparison.Ordinal);
        using var monitoring = await browser.GetAsync("/app/monitoring");
        Assert.Equal(HttpStatusCode.OK, monitoring.StatusCode);
        // The trial team may open an assessment from the log.
        using var detail = await browser.GetAsync("/app/assessments/" + ineligible);
        Assert.Equal(HttpStatusCode.OK, detail.StatusCode);
    }

    [Fact]
    public async Task LogoutWithoutAntiforgeryToken_IsRefused()
    {
        var patient = await _app.CreatePatientAsync("Hal", "Csrf");
        var id = await _app.StoreAssessmentAsync(patient, "eligible", 0.6, SmartAppHarness.Criteria(("age", "pass", "ok", null, null)));
        using var browser = Browser();
        await LaunchAsync(browser, await _app.CreateLaunchAsync(patient, id));
        using var forged = await browser.PostAsync("/app/logout", new FormUrlEncodedContent([]));
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        using var still = await browser.GetAsync("/app/assessments/" + id);
        Assert.Equal(HttpStatusCode.OK, still.StatusCode);
    }
}
