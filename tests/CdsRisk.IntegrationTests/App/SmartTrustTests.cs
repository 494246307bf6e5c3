using System.Net;
using System.Security.Cryptography;
using CdsRisk.IntegrationTests.TestServers;
using Microsoft.AspNetCore.Mvc.Testing;

namespace CdsRisk.IntegrationTests.App;

/// <summary>
/// Issue 18, what remained of launch and trust: private-key JWT client authentication (RFC 7523, SMART "Confidential asymmetric"),
/// id_token validation with the openid scope, and introspection answers reused within their bounds — against the test EHR's SMART double.
/// </summary>
[Collection("servers")]
public sealed class SmartTrustTests(TestEnvironment env)
{
    private const string Base = "http://localhost";

    private static HttpClient Browser(SmartAppHarness app) =>
        app.Factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true, BaseAddress = new Uri(Base) });

    private static async Task<HttpResponseMessage> LaunchAsync(SmartAppHarness app, HttpClient browser, string launch)
    {
        using var start = await browser.GetAsync($"/app/launch?iss={Uri.EscapeDataString(app.Issuer)}&launch={launch}");
        Assert.Equal(HttpStatusCode.Redirect, start.StatusCode);
        var callback = await SmartAppHarness.AuthorizeAsync(start.Headers.Location!);
        return await browser.GetAsync(callback.PathAndQuery);
    }

    private static bool SignedIn(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith("cdsrisk.app=", StringComparison.Ordinal) && !c.StartsWith("cdsrisk.app=;", StringComparison.Ordinal));

    private async Task<(SmartAppHarness App, string Patient, string Assessment)> SetUpAsync(string clientId, IReadOnlyDictionary<string, string?>? settings = null,
        System.Text.Json.Nodes.JsonObject? jwks = null)
    {
        var app = new SmartAppHarness(env, Base, settings: settings, clientId: clientId);
        await app.RegisterClientAsync(jwks);
        var patient = await app.CreatePatientAsync("Ivy", "Trust");
        var id = await app.StoreAssessmentAsync(patient, "eligible", 0.7, SmartAppHarness.Criteria(("age", "pass", "ok", null, null)));
        return (app, patient, id);
    }

    private static Dictionary<string, string?> PrivateKey(RSA rsa, string kid) => new()
    {
        ["SmartApp:Ehrs:0:ClientSecret"] = "",
        ["SmartApp:Ehrs:0:PrivateKeyPem"] = rsa.ExportPkcs8PrivateKeyPem(),
        ["SmartApp:Ehrs:0:KeyId"] = kid,
        ["SmartApp:Ehrs:0:Algorithm"] = "RS384",
    };

    [Fact]
    public async Task PrivateKeyJwtClient_LaunchPasses()
    {
        using var key = RSA.Create(2048);
        var (app, patient, id) = await SetUpAsync("cdsrisk-app-pkjwt", PrivateKey(key, "app-key-1"), SmartAppHarness.Jwks(key, "app-key-1"));
        using var _ = app;
        using var browser = Browser(app);
        var launch = await app.CreateLaunchAsync(patient, id);
        using var callback = await LaunchAsync(app, browser, launch);
        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal("/app/assessments/" + id, callback.Headers.Location!.OriginalString);
        using var page = await browser.GetAsync(callback.Headers.Location);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        // The double answered the token call and the introspection: both authenticated by the signed assertion (no secret registered).
        var (tokens, introspections) = await app.StatsAsync(launch);
        Assert.Equal(1, tokens);
        Assert.True(introspections >= 1);
    }

    [Fact]
    public async Task PrivateKeyJwtWithWrongKey_IsRefused()
    {
        using var registered = RSA.Create(2048);
        using var other = RSA.Create(2048);
        var (app, patient, id) = await SetUpAsync("cdsrisk-app-wrongkey", PrivateKey(other, "app-key-1"), SmartAppHarness.Jwks(registered, "app-key-1"));
        using var _ = app;
        using var browser = Browser(app);
        var launch = await app.CreateLaunchAsync(patient, id);
        using var callback = await LaunchAsync(app, browser, launch);
        Assert.Equal(HttpStatusCode.BadGateway, callback.StatusCode);
        Assert.Contains("answered 401", await callback.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.False(SignedIn(callback));
        Assert.Equal((0, 0), await app.StatsAsync(launch));
        using var page = await browser.GetAsync("/app/assessments/" + id);
        Assert.Equal(HttpStatusCode.Unauthorized, page.StatusCode);
    }

    [Theory]
    [InlineData("forged")]
    [InlineData("expired")]
    [InlineData("wrong-aud")]
    [InlineData("wrong-nonce")]
    [InlineData("none")]
    public async Task BadIdToken_LaunchRefused(string idToken)
    {
        var (app, patient, id) = await SetUpAsync("cdsrisk-app-idtoken");
        using var _ = app;
        using var browser = Browser(app);
        using var callback = await LaunchAsync(app, browser, await app.CreateLaunchAsync(patient, id, idToken: idToken));
        Assert.Equal(HttpStatusCode.Forbidden, callback.StatusCode);
        Assert.Contains("id_token", await callback.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.False(SignedIn(callback));
        using var page = await browser.GetAsync("/app/assessments/" + id);
        Assert.Equal(HttpStatusCode.Unauthorized, page.StatusCode);
    }

    [Fact]
    public async Task IdTokenFhirUser_IsTheSessionUser()
    {
        var (app, patient, id) = await SetUpAsync("cdsrisk-app-idtoken");
        using var _ = app;
        using var browser = Browser(app);
        using var callback = await LaunchAsync(app, browser, await app.CreateLaunchAsync(patient, id));
        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        var html = await (await browser.GetAsync(callback.Headers.Location)).Content.ReadAsStringAsync();
        // The double's id_token carries fhirUser as an absolute URL; its introspection answer has the relative reference.
        Assert.Contains(app.Issuer + "/Practitioner/dr-test", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TwoPages_OneIntrospectionCall()
    {
        var (app, patient, id) = await SetUpAsync("cdsrisk-app-cache");
        using var _ = app;
        using var browser = Browser(app);
        var launch = await app.CreateLaunchAsync(patient, id);
        using var callback = await LaunchAsync(app, browser, launch);
        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        using var first = await browser.GetAsync("/app/assessments/" + id);
        using var second = await browser.GetAsync("/app/");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal((1, 1), await app.StatsAsync(launch)); // the callback's check serves both pages
    }

    [Fact]
    public async Task RevokedToken_WithCacheOff_IsRefusedOnTheNextPage()
    {
        var (app, patient, id) = await SetUpAsync("cdsrisk-app-nocache", new Dictionary<string, string?> { ["SmartApp:IntrospectionCacheSeconds"] = "0" });
        using var _ = app;
        using var browser = Browser(app);
        var launch = await app.CreateLaunchAsync(patient, id);
        await LaunchAsync(app, browser, launch);
        using var before = await browser.GetAsync("/app/assessments/" + id);
        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        Assert.Equal(2, (await app.StatsAsync(launch)).Introspections);
        await app.ExpireTokensAsync();
        using var after = await browser.GetAsync("/app/assessments/" + id);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
    }
}
