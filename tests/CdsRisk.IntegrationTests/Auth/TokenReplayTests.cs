using System.Net;
using System.Net.Http.Headers;
using CdsRisk.IntegrationTests.Hooks;
using CdsRisk.IntegrationTests.TestServers;

namespace CdsRisk.IntegrationTests.Auth;

/// <summary>Issue 13 item 13: a used <c>jti</c> is refused after a restart and by another replica; long-lived tokens are refused.</summary>
public sealed class TokenReplayTests : IDisposable
{
    private readonly TestCdsClient _ehr = new("https://ehr.replay-tests.example");
    private readonly string _folder = Directory.CreateTempSubdirectory("cdsrisk-replay-").FullName;

    public void Dispose()
    {
        _ehr.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    private Dictionary<string, string?> Settings(string? database = null) => new()
    {
        ["Auth:Mode"] = "Required",
        ["Auth:Clients:0:Issuer"] = _ehr.Issuer,
        ["Auth:Clients:0:Jwks"] = _ehr.JwksJson,
        ["Storage:Sqlite:Path"] = database ?? Path.Combine(_folder, "cdsrisk.db"),
    };

    public static async Task<HttpStatusCode> DiscoverAsync(HttpClient client, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/cds-services");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    private static Uri Discovery => new(CdsRiskApiFactory.PublicBaseUrl + "/cds-services");

    [Fact]
    public async Task JtiReplayAfterRestart_IsRefused()
    {
        var token = _ehr.CreateToken(Discovery);
        using (var before = new CdsRiskApiFactory(Settings()))
        using (var client = before.CreateClient())
        {
            Assert.Equal(HttpStatusCode.OK, await DiscoverAsync(client, token));
        }

        // The service restarted on the same database: its memory is empty, the database remembers.
        using var after = new CdsRiskApiFactory(Settings());
        using var restarted = after.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, await DiscoverAsync(restarted, token));
        Assert.Equal(HttpStatusCode.OK, await DiscoverAsync(restarted, _ehr.CreateToken(Discovery)));
    }

    [Fact]
    public async Task TenYearExp_IsRefused_AndTheMaximumLifetimeIsConfigurable()
    {
        using var factory = new CdsRiskApiFactory(Settings());
        using var client = factory.CreateClient();

        Assert.Equal(HttpStatusCode.Unauthorized, await DiscoverAsync(client, _ehr.CreateToken(Discovery, lifetime: TimeSpan.FromDays(3650))));
        Assert.Equal(HttpStatusCode.Unauthorized, await DiscoverAsync(client, _ehr.CreateToken(Discovery, lifetime: TimeSpan.FromSeconds(601))));
        Assert.Equal(HttpStatusCode.OK, await DiscoverAsync(client, _ehr.CreateToken(Discovery, lifetime: TimeSpan.FromSeconds(600))));

        var settings = Settings(Path.Combine(_folder, "short.db"));
        settings["Auth:MaxTokenLifetimeSeconds"] = "120";
        using var strict = new CdsRiskApiFactory(settings);
        using var strictClient = strict.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, await DiscoverAsync(strictClient, _ehr.CreateToken(Discovery, lifetime: TimeSpan.FromSeconds(300))));
        Assert.Contains(strict.Logs, l => l.Contains("Auth:MaxTokenLifetimeSeconds", StringComparison.Ordinal));
    }
}

/// <summary>Two services sharing one PostgreSQL database (replicas): a token used at one is refused at the other.</summary>
[Collection("servers")]
public sealed class TokenReplayAcrossReplicasTests(TestEnvironment env)
{
    [Fact]
    public async Task JtiReplayAcrossReplicas_OnPostgreSql_IsRefused()
    {
        using var ehr = new TestCdsClient("https://ehr.replicas.example");
        var database = await env.CreatePostgresDatabaseAsync("jti");
        Dictionary<string, string?> Settings() => new()
        {
            ["Auth:Mode"] = "Required",
            ["Auth:Clients:0:Issuer"] = ehr.Issuer,
            ["Auth:Clients:0:Jwks"] = ehr.JwksJson,
            ["Storage:Provider"] = "PostgreSql",
            ["Storage:PostgreSql:ConnectionString"] = database,
        };
        using var first = new CdsRiskApiFactory(Settings());
        using var second = new CdsRiskApiFactory(Settings());
        using var firstClient = first.CreateClient();
        using var secondClient = second.CreateClient();
        var discovery = new Uri(CdsRiskApiFactory.PublicBaseUrl + "/cds-services");

        var token = ehr.CreateToken(discovery);
        Assert.Equal(HttpStatusCode.OK, await TokenReplayTests.DiscoverAsync(firstClient, token));
        Assert.Equal(HttpStatusCode.Unauthorized, await TokenReplayTests.DiscoverAsync(secondClient, token));

        // The same token sent to both at once: exactly one is accepted.
        var raced = ehr.CreateToken(discovery);
        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => TokenReplayTests.DiscoverAsync(i % 2 == 0 ? firstClient : secondClient, raced)));
        Assert.Single(results, s => s == HttpStatusCode.OK);
    }
}
