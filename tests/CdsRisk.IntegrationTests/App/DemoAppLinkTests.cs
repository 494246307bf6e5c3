using System.Net;
using CdsRisk.Cli.Demo;
using CdsRisk.IntegrationTests.TestServers;
using Microsoft.AspNetCore.Mvc.Testing;

namespace CdsRisk.IntegrationTests.App;

/// <summary>Issue 18 item 6: the launch URL the demo prints for a patient opens that patient's assessment in the app.</summary>
[Collection("servers")]
public sealed class DemoAppLinkTests(TestEnvironment env)
{
    [Fact]
    public async Task DemoLaunchUrl_OpensThePatientsAssessment()
    {
        const string Base = "http://localhost";
        using var links = new DemoAppLinks(new Uri(Base), env.FhirBaseUrl.AbsoluteUri, env.FhirAdminUrl.AbsoluteUri, env.FhirAdminToken);
        // The service as the demo starts it: the demo's SmartApp settings (environment names → configuration keys).
        var settings = links.ServiceEnvironment.ToDictionary(kv => kv.Key.Replace("__", ":", StringComparison.Ordinal), kv => (string?)kv.Value);
        settings["SmartApp:Ehrs:0:TrialTeamRoles:0"] = DemoAppLinks.TrialTeamRole;
        using var app = new SmartAppHarness(env, Base, settings: settings, clientId: DemoAppLinks.ClientId);
        Assert.Null(await links.RegisterAsync(CancellationToken.None));
        var patient = await app.CreatePatientAsync("Demo", "Link");
        var id = await app.StoreAssessmentAsync(patient, "eligible", 0.7, SmartAppHarness.Criteria(("age", "pass", "ok", null, null)));

        var url = await links.LaunchUrlAsync(patient, id, CancellationToken.None);
        Assert.NotNull(url);
        Assert.StartsWith(Base + "/app/launch?iss=" + Uri.EscapeDataString(env.FhirBaseUrl.AbsoluteUri) + "&launch=", url, StringComparison.Ordinal);

        using var browser = app.Factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true, BaseAddress = new Uri(Base) });
        using var start = await browser.GetAsync(new Uri(url!).PathAndQuery);
        Assert.Equal(HttpStatusCode.Redirect, start.StatusCode);
        var callback = await SmartAppHarness.AuthorizeAsync(start.Headers.Location!);
        using var signedIn = await browser.GetAsync(callback.PathAndQuery);
        Assert.Equal("/app/assessments/" + id, signedIn.Headers.Location!.OriginalString);
        using var page = await browser.GetAsync(signedIn.Headers.Location);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);

        // The standalone URL it prints opens the screening log (its user has the trial-team role).
        using var trialTeam = app.Factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true, BaseAddress = new Uri(Base) });
        using var login = await trialTeam.GetAsync(new Uri(links.StandaloneUrl!).PathAndQuery);
        var back = await SmartAppHarness.AuthorizeAsync(login.Headers.Location!);
        using var log = await trialTeam.GetAsync(back.PathAndQuery);
        Assert.Equal("/app/screening-log", log.Headers.Location!.OriginalString);
    }
}
