using System.Net;
using System.Text.Json.Nodes;
using CdsRisk.Api.App;
using CdsRisk.Api.Auth;
using CdsRisk.Api.Storage;
using CdsRisk.IntegrationTests.Hooks;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace CdsRisk.IntegrationTests.Auth;

/// <summary>
/// Issue 13 item 1: every mapped endpoint, taken from the <see cref="EndpointDataSource"/>, answers a bare 401 without a token under
/// every spelling of its path that routing accepts (upper case, mixed case, dot segments, percent-encoded characters), and its
/// expected status with a good token of its own kind of client. The service runs on Kestrel and requests go over a plain socket, so
/// the paths reach the server exactly as written.
/// </summary>
public sealed class EndpointAuthorizationTests : IAsyncLifetime
{
    private const string ServiceId = "nct07282184-patient-view";
    private readonly AuthTestClients _clients = new();
    private readonly int _port = AuthTestClients.FreePort();
    private CdsRiskApiFactory _factory = null!;

    private string PublicBaseUrl => $"http://127.0.0.1:{_port}";

    public Task InitializeAsync()
    {
        _factory = new CdsRiskApiFactory(_clients.Settings(PublicBaseUrl));
        _factory.UseKestrel(o => o.Listen(IPAddress.Loopback, _port));
        _factory.StartServer();
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        _factory.Dispose();
        _clients.Dispose();
        return Task.CompletedTask;
    }

    private sealed record Mapped(string Method, string Pattern, string Path, ClientKind? Kind, bool Anonymous, bool App = false);

    /// <summary>Every route endpoint with each of its methods, its route values filled in, and the client kind its policy names.</summary>
    private IReadOnlyList<Mapped> Endpoints()
    {
        var endpoints = _factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();
        Assert.NotEmpty(endpoints);
        return
        [
            .. endpoints.SelectMany(e =>
            {
                var pattern = e.RoutePattern.RawText!.TrimEnd('/') is { Length: > 0 } trimmed ? trimmed : "/"; // a group's "" is "/cds-services/"
                var path = "/" + pattern.TrimStart('/').Replace("{id}", pattern.StartsWith("/cds-services", StringComparison.Ordinal) ? ServiceId : "no-such-id", StringComparison.Ordinal);
                var policy = e.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy).LastOrDefault(p => p is not null);
                ClientKind? kind = policy switch
                {
                    ClientPolicies.Audit => ClientKind.Audit,
                    ClientPolicies.Scoring => ClientKind.Scoring,
                    _ => ClientKind.Cds, // the group policy, or the fallback policy
                };
                var anonymous = e.Metadata.GetMetadata<IAllowAnonymous>() is not null;
                // The SMART app's pages open only to its session cookie (issue 18): no client of the API gets in.
                var app = policy is AppSchemes.LaunchedPolicy or AppSchemes.TrialTeamPolicy;
                return (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => new Mapped(m, pattern, path, anonymous || app ? null : kind, anonymous, app));
            }),
        ];
    }

    /// <summary>Spellings of one path that routing may take for it: case is ignored by routing, Kestrel removes dot segments and decodes escapes.</summary>
    private static IEnumerable<string> Spellings(string path)
    {
        yield return path;
        yield return path.ToUpperInvariant();
        yield return string.Concat(path.Select((c, i) => i % 2 == 0 ? char.ToUpperInvariant(c) : c));
        yield return "/x/.." + path;
        yield return "/x/../" + path.TrimStart('/').ToUpperInvariant();
        yield return "/./" + path.TrimStart('/');
        yield return path.Replace("-", "%2D", StringComparison.Ordinal);
        yield return path.Replace("c", "%63", StringComparison.Ordinal);
        yield return path.Replace("-", "%2d", StringComparison.Ordinal).Replace("a", "%41", StringComparison.Ordinal).ToUpperInvariant().Replace("%2D", "%2d", StringComparison.Ordinal);
        yield return path.Replace("/", "%2F", StringComparison.Ordinal).Insert(0, "/").Replace("/%2F", "/", StringComparison.Ordinal);
        yield return path + "/";
    }

    private static string Body(Mapped endpoint, string card) => endpoint.Pattern switch
    {
        var p when p.EndsWith("/feedback", StringComparison.Ordinal) => new JsonObject
        {
            ["feedback"] = new JsonArray(new JsonObject { ["card"] = card, ["outcome"] = "accepted", ["outcomeTimestamp"] = "2026-11-27T10:00:00Z" }),
        }.ToJsonString(),
        var p when p.StartsWith("/cds-services", StringComparison.Ordinal) => HookRequests.PatientView(HookRequests.FullPrefetch()).ToJsonString(),
        _ => "{}",
    };

    private string Credential(ClientKind kind, string path) => kind switch
    {
        ClientKind.Cds => "Bearer " + _clients.Ehr.CreateToken(new Uri(PublicBaseUrl + path)),
        ClientKind.Audit => "Bearer " + _clients.Auditor.CreateToken(new Uri(PublicBaseUrl + path)),
        _ => "ApiKey " + _clients.ApiKey,
    };

    [Fact]
    public async Task AuthenticationBypassByPathCase_EveryEndpoint_Answers401WithoutAToken_UnderEverySpelling()
    {
        var card = Guid.NewGuid().ToString();
        var checkedRequests = 0;
        foreach (var endpoint in Endpoints().Where(e => !e.Anonymous))
        {
            foreach (var spelling in Spellings(endpoint.Path))
            {
                var response = await RawHttp.SendAsync(_port, endpoint.Method, spelling, body: endpoint.Method == "GET" ? null : Body(endpoint, card));
                Assert.True(response.Status == 401, $"{endpoint.Method} {spelling} answered {response.Status} without a token");
                if (endpoint.App && response.Body.Length > 0)
                {
                    // The app's pages answer a page asking to launch again from the EHR, not a bearer challenge (spellings that routing
                    // does not give to the app fall under the fallback policy: the bare bearer 401 below).
                    Assert.Contains("Launch the app again", System.Text.Encoding.UTF8.GetString(response.Body), StringComparison.Ordinal);
                    checkedRequests++;
                    continue;
                }

                Assert.Equal("Bearer", response.Headers["WWW-Authenticate"]);
                Assert.Empty(response.Body);
                checkedRequests++;
            }
        }

        Assert.True(checkedRequests >= 6 * 8, $"only {checkedRequests} requests checked");
        // Nothing behind the endpoints ran: no hook was evaluated, no feedback stored.
        Assert.Null(_factory.Evaluator.LastInvocation);
        Assert.Empty(await _factory.Services.GetRequiredService<IFeedbackStore>().ListForCardAsync(card, CancellationToken.None));
    }

    [Fact]
    public async Task EveryEndpoint_RefusesTheCredentialsOfAnotherKindOfClient()
    {
        foreach (var endpoint in Endpoints().Where(e => !e.Anonymous))
        {
            foreach (var other in Enum.GetValues<ClientKind>().Where(k => k != endpoint.Kind))
            {
                var response = await RawHttp.SendAsync(_port, endpoint.Method, endpoint.Path, Credential(other, endpoint.Path),
                    endpoint.Method == "GET" ? null : Body(endpoint, Guid.NewGuid().ToString()));
                Assert.True(response.Status == 401, $"{endpoint.Method} {endpoint.Path} answered {response.Status} to a {other} client");
            }
        }

        Assert.Null(_factory.Evaluator.LastInvocation);
    }

    [Fact]
    public async Task EveryEndpoint_AnswersItsExpectedStatus_WithAGoodTokenOfItsKind()
    {
        var expected = new Dictionary<string, int>(StringComparer.Ordinal)
        {
            ["GET /cds-services"] = 200,
            ["POST /cds-services/{id}"] = 200,
            ["POST /cds-services/{id}/feedback"] = 200,
            ["GET /healthz"] = 200,
            ["GET /api/risk-assessments"] = 200,
            ["GET /api/risk-assessments/{id}"] = 404, // no such assessment: past authorization
            ["POST /api/scoring-jobs"] = 400, // {} names no patient: past authorization
            ["GET /api/scoring-jobs/{id}"] = 404,
            ["GET /api/follow-up"] = 200,
            ["GET /api/follow-up/sweep"] = 200,
        };
        foreach (var endpoint in Endpoints())
        {
            var key = $"{endpoint.Method} {endpoint.Pattern}";
            if (endpoint.Anonymous)
            {
                // Open on purpose (.AllowAnonymous()): answers without any token. The SMART app's launch routes refuse a launch
                // without its parameters (iss, launch; code and state) with 400.
                var open = await RawHttp.SendAsync(_port, endpoint.Method, endpoint.Path);
                var launchRoute = key is "GET /app/launch" or "GET /app/login" or "GET /app/callback";
                // /readyz answers 503 while the start-up warm-up runs: still without a token.
                Assert.True(launchRoute ? open.Status == 400 : open.Status is >= 200 and < 300 || (key == "GET /readyz" && open.Status == 503), $"{key} (anonymous) answered {open.Status}");
                continue;
            }

            if (endpoint.App)
            {
                continue; // a session comes from a SMART launch only: SmartLaunchTests open every app page with one
            }

            Assert.True(expected.TryGetValue(key, out var status), $"{key} is a new endpoint: add the status it answers with a good token here");
            var response = await RawHttp.SendAsync(_port, endpoint.Method, endpoint.Path, Credential(endpoint.Kind!.Value, endpoint.Path),
                endpoint.Method == "GET" ? null : Body(endpoint, Guid.NewGuid().ToString()));
            Assert.True(response.Status == status, $"{key} answered {response.Status} with a good token (expected {status})");
        }
    }

    [Fact]
    public async Task UnknownPaths_AreClosedToo_AndAClientWithATokenGetsTheProblemFor404()
    {
        Assert.Equal(401, (await RawHttp.SendAsync(_port, "GET", "/no/such/path")).Status);
        Assert.Equal(401, (await RawHttp.SendAsync(_port, "GET", "/swagger/v1/swagger.json")).Status); // Development only

        var known = await RawHttp.SendAsync(_port, "GET", "/no/such/path", Credential(ClientKind.Cds, "/no/such/path"));
        Assert.Equal(404, known.Status);
        Assert.Contains("CDSR-1010", System.Text.Encoding.UTF8.GetString(known.Body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Preflight_NeedsNoToken_UnderAnySpelling_AndThe401CarriesCorsHeaders()
    {
        var preflight = new Dictionary<string, string>
        {
            ["Origin"] = "https://sandbox.cds-hooks.org",
            ["Access-Control-Request-Method"] = "POST",
            ["Access-Control-Request-Headers"] = "authorization,content-type",
        };
        foreach (var spelling in Spellings("/cds-services/" + ServiceId).Take(3))
        {
            Assert.Equal(204, (await RawHttp.SendAsync(_port, "OPTIONS", spelling, headers: preflight)).Status);
        }

        var rejected = await RawHttp.SendAsync(_port, "GET", "/CDS-SERVICES", headers: new Dictionary<string, string> { ["Origin"] = "https://sandbox.cds-hooks.org" });
        Assert.Equal(401, rejected.Status);
        Assert.True(rejected.Headers.ContainsKey("Access-Control-Allow-Origin"));
    }
}
