using System.Text.Json;
using CdsRisk.Api.Hooks;
using CdsRisk.IntegrationTests.Auth;
using CdsRisk.IntegrationTests.TestServers;
using Microsoft.Playwright;

namespace CdsRisk.IntegrationTests.App;

/// <summary>
/// Issue 18, tested as people use it: Debian's Chromium (<c>/usr/bin/chromium</c>, driven by Microsoft.Playwright; no browser download)
/// launches the app from a card link through the SMART double, at 1280 px and in a 700 px EHR side pane. Each page is saved as a
/// screenshot under TestResults/app-screenshots/ and checked with axe-core (WCAG 2.1 A/AA rules): no serious or critical violation.
/// </summary>
[Collection("servers")]
public sealed class AppBrowserTests(TestEnvironment env) : IAsyncLifetime
{
    private const string Chromium = "/usr/bin/chromium";
    private static readonly string AxeScript = Path.Combine(TestEnvironment.RepositoryRoot, ".cdsrisk", "axe", "node_modules", "axe-core", "axe.min.js");
    private static readonly string Screenshots = Path.Combine(TestEnvironment.RepositoryRoot, "TestResults", "app-screenshots");
    private static readonly (string Name, int Width, int Height)[] Viewports = [("desktop-1280", 1280, 900), ("side-pane-700", 700, 900)];

    private readonly int _port = AuthTestClients.FreePort();
    private SmartAppHarness _app = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists(Chromium), "Debian's chromium is missing: run scripts/setup.sh");
        Assert.True(File.Exists(AxeScript), "axe-core is missing: run scripts/setup.sh");
        Directory.CreateDirectory(Screenshots);
        _app = new SmartAppHarness(env, $"http://127.0.0.1:{_port}", kestrel: true, port: _port);
        await _app.RegisterClientAsync();
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox", "--disable-gpu"] });
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
        _app.Dispose();
    }

    // axe is injected as a script: only the test's context bypasses the CSP (the CSP itself is asserted by SmartLaunchTests).
    private async Task<IPage> NewPageAsync((string Name, int Width, int Height) viewport)
    {
        var context = await _browser.NewContextAsync(new() { ViewportSize = new() { Width = viewport.Width, Height = viewport.Height }, BypassCSP = true, AcceptDownloads = true });
        return await context.NewPageAsync();
    }

    private string LaunchUrl(string launch) => $"{_app.BaseUrl}/app/launch?iss={Uri.EscapeDataString(_app.Issuer)}&launch={launch}";

    /// <summary>Saves a full-page screenshot and fails on any serious or critical axe violation.</summary>
    private static async Task CheckPageAsync(IPage page, string name)
    {
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, name + ".png"), FullPage = true });
        await page.AddScriptTagAsync(new() { Path = AxeScript });
        var violations = await page.EvaluateAsync<JsonElement>("""
            async () => {
              const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
              return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.map(n => n.target.join(' ')).join(', '));
            }
            """);
        Assert.True(violations.GetArrayLength() == 0, name + ": " + violations.ToString());
        // Usable in a side pane: nothing makes the page scroll sideways.
        var overflow = await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth > window.innerWidth + 1");
        Assert.False(overflow, name + ": the page is wider than the viewport");
    }

    [Theory]
    [InlineData("eligible", "Potential candidate for trial NCT07282184: refer to the trial team.")]
    [InlineData("needs-data", "Cannot decide yet: data is missing")]
    [InlineData("ineligible", "Not a candidate for trial NCT07282184 on the recorded data.")]
    public async Task DetailView_FromCardLink_ShowsTheDecision_AtBothViewports(string outcome, string decision)
    {
        var patient = await _app.CreatePatientAsync("Browser", "Test-" + outcome);
        var criteria = outcome switch
        {
            "eligible" => SmartAppHarness.Criteria(("age", "pass", "Age 64, within 18–80", "Patient/" + patient, null), ("bclc-stage", "pass", "BCLC A", null, null)),
            "needs-data" => SmartAppHarness.Criteria(("age", "pass", "Age 64", "Patient/" + patient, null), ("afp", "unknown", "No AFP in the last 30 days", null, "Serum AFP (LOINC 1834-1)")),
            _ => SmartAppHarness.Criteria(("age", "pass", "Age 64", "Patient/" + patient, null), ("bclc-stage", "fail", "BCLC C: outside the trial's stages", "Observation/bclc-1", null)),
        };
        var id = await _app.StoreAssessmentAsync(patient, outcome, outcome == "eligible" ? 0.74 : null, criteria);
        foreach (var viewport in Viewports)
        {
            var page = await NewPageAsync(viewport);
            var response = await page.GotoAsync(LaunchUrl(await _app.CreateLaunchAsync(patient, id)));
            Assert.Equal(200, response!.Status);
            Assert.EndsWith("/app/assessments/" + id, page.Url, StringComparison.Ordinal);
            Assert.Contains(decision, await page.Locator("p.decision").InnerTextAsync(), StringComparison.Ordinal);
            Assert.Equal(criteria.Count, await page.Locator("tbody tr th[scope=row]").CountAsync());
            await CheckPageAsync(page, $"detail-{outcome}-{viewport.Name}");
            await page.Context.CloseAsync();
        }
    }

    [Fact]
    public async Task DetailView_MriPhases_ShowsFourPictures()
    {
        var patient = await _app.CreatePatientAsync("Browser", "Images");
        var (_, _, id) = await _app.StoreAssessmentWithStudyAsync(patient);
        foreach (var viewport in Viewports)
        {
            var page = await NewPageAsync(viewport);
            var response = await page.GotoAsync(LaunchUrl(await _app.CreateLaunchAsync(patient, id)));
            Assert.Equal(200, response!.Status);
            // Every picture loaded as an image of the synthetic slice's 64 columns (a broken or placeholder image has another width).
            await page.WaitForFunctionAsync("() => Array.from(document.querySelectorAll('.phases img')).every(i => i.complete)");
            var widths = await page.EvaluateAsync<int[]>("() => Array.from(document.querySelectorAll('.phases img')).map(i => i.naturalWidth)");
            Assert.Equal([64, 64, 64, 64], widths);
            Assert.Equal(4, await page.Locator(".phases figcaption").CountAsync());
            await CheckPageAsync(page, $"detail-mri-phases-{viewport.Name}");
            await page.Context.CloseAsync();
        }
    }

    [Fact]
    public async Task DetailView_OnStudyPatient_ShowsScheduleAndSafetySignals()
    {
        var patient = await _app.CreatePatientAsync("Browser", "OnStudy");
        static EvidenceEntry E(string reference, string description, string? value, int day) =>
            new() { Reference = reference, Description = description, Value = value, Date = new DateTimeOffset(2026, 1, day, 9, 0, 0, TimeSpan.Zero) };
        static FollowUpItemEntry Item(string id, string what, string due, string status, params EvidenceEntry[] evidence) =>
            new() { Id = id, What = what, Due = due, WindowStart = due, WindowEnd = due, Status = status, Evidence = evidence.Length == 0 ? null : evidence };
        var followUp = new FollowUpEntry
        {
            ResearchSubject = "ResearchSubject/rs-1",
            Anchor = E("Procedure/resection-1", "Liver resection", null, 5),
            Items =
            [
                Item("m3-imaging", "Liver MRI or CT at month 3", "2026-04-05", "done", E("ImagingStudy/fu-3", "MRI liver", null, 28)),
                Item("m3-afp", "AFP at month 3", "2026-04-05", "overdue"),
                Item("m6-imaging", "Liver MRI or CT at month 6", "2026-07-05", "upcoming"),
            ],
            Signals = [new SafetySignalEntry { Id = "alt", Term = "Alanine aminotransferase increased", Grade = 3, Reason = "ALT 6.2 × ULN during oxaliplatin",
                Evidence = [E("Observation/alt-1", "ALT", "248 U/L", 20)] }],
        };
        var id = await _app.StoreAssessmentAsync(patient, "on-study", null, SmartAppHarness.Criteria(("non-hcc-pathology", "pass", "HCC on pathology", null, null)), followUp: followUp);
        foreach (var viewport in Viewports)
        {
            var page = await NewPageAsync(viewport);
            var response = await page.GotoAsync(LaunchUrl(await _app.CreateLaunchAsync(patient, id)));
            Assert.Equal(200, response!.Status);
            Assert.Contains("On study in trial NCT07282184", await page.Locator("p.decision").InnerTextAsync(), StringComparison.Ordinal);
            var schedule = page.Locator("table[data-section=follow-up-schedule] tbody tr");
            Assert.Equal(3, await schedule.CountAsync());
            Assert.Contains("overdue", await schedule.Nth(1).InnerTextAsync(), StringComparison.Ordinal);
            Assert.Equal(_app.Issuer + "/ImagingStudy/fu-3", await schedule.Nth(0).Locator("a").GetAttributeAsync("href"));
            var signal = page.Locator("table[data-section=safety-signals] tbody tr");
            Assert.Equal(1, await signal.CountAsync());
            Assert.Contains("grade 3", await signal.InnerTextAsync(), StringComparison.Ordinal);
            Assert.Equal(_app.Issuer + "/Observation/alt-1", await signal.Locator("a").GetAttributeAsync("href"));
            await CheckPageAsync(page, $"detail-on-study-{viewport.Name}");
            await page.Context.CloseAsync();
        }
    }

    [Fact]
    public async Task TrialTeam_ScreeningLogAndCsv_FlowAndMonitoring()
    {
        var patient = await _app.CreatePatientAsync("Log", "Browser");
        var id = await _app.StoreAssessmentAsync(patient, "ineligible", null, SmartAppHarness.Criteria(("bclc-stage", "fail", "BCLC C", null, null)));
        await _app.SetStandaloneUserAsync(SmartAppHarness.TrialTeamRole);
        foreach (var viewport in Viewports)
        {
            var page = await NewPageAsync(viewport);
            await page.GotoAsync($"{_app.BaseUrl}/app/login?iss={Uri.EscapeDataString(_app.Issuer)}");
            Assert.EndsWith("/app/screening-log", page.Url, StringComparison.Ordinal);
            Assert.True(await page.Locator($"a[href='/app/assessments/{id}']").CountAsync() == 1);
            await CheckPageAsync(page, $"screening-log-{viewport.Name}");

            var download = await page.RunAndWaitForDownloadAsync(() => page.GetByText("Download CSV").ClickAsync());
            var csv = await File.ReadAllTextAsync((await download.PathAsync())!);
            Assert.Contains(id + ",", csv, StringComparison.Ordinal);

            await page.GotoAsync(_app.BaseUrl + "/app/screening-flow");
            Assert.Equal(1, await page.Locator("figure svg").CountAsync());
            await CheckPageAsync(page, $"screening-flow-{viewport.Name}");
            await page.GotoAsync(_app.BaseUrl + "/app/monitoring");
            await CheckPageAsync(page, $"monitoring-{viewport.Name}");
            await page.Context.CloseAsync();
        }
    }

    [Fact]
    public async Task RefusedLaunches_WrongPatient_ExpiredToken_NoRole()
    {
        var mine = await _app.CreatePatientAsync("Refused", "Mine");
        var other = await _app.CreatePatientAsync("Refused", "Other");
        var myId = await _app.StoreAssessmentAsync(mine, "eligible", 0.6, SmartAppHarness.Criteria(("age", "pass", "ok", null, null)));
        var otherId = await _app.StoreAssessmentAsync(other, "eligible", 0.9, SmartAppHarness.Criteria(("age", "pass", "ok", null, null)));
        var page = await NewPageAsync(Viewports[1]);
        await page.GotoAsync(LaunchUrl(await _app.CreateLaunchAsync(mine, myId)));

        var wrong = await page.GotoAsync($"{_app.BaseUrl}/app/assessments/{otherId}");
        Assert.Equal(403, wrong!.Status);
        await CheckPageAsync(page, "refused-wrong-patient");

        // A token past its exp is refused even though its introspection answer is cached (SmartApp:IntrospectionCacheSeconds).
        await page.GotoAsync(LaunchUrl(await _app.CreateLaunchAsync(mine, myId, tokenSeconds: 4)));
        await Task.Delay(TimeSpan.FromSeconds(5.5));
        var expired = await page.GotoAsync($"{_app.BaseUrl}/app/assessments/{myId}");
        Assert.Equal(401, expired!.Status);
        Assert.Contains("Launch the app again", await page.InnerTextAsync("main"), StringComparison.Ordinal);
        await CheckPageAsync(page, "refused-expired-token");

        await _app.SetStandaloneUserAsync();
        var noRole = await page.GotoAsync($"{_app.BaseUrl}/app/login?iss={Uri.EscapeDataString(_app.Issuer)}");
        Assert.Equal(403, noRole!.Status);
        await CheckPageAsync(page, "refused-no-role");
        await page.Context.CloseAsync();
    }
}
