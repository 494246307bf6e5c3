using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace CdsRisk.IntegrationTests.Hooks;

/// <summary>
/// Issue 13 items 4, 7, 15, 18 and 20 through the whole HTTP stack, against FHIR servers on loopback (two allowed servers where the
/// attack needs a second one). The FHIR side of each attack is observable: which requests each server saw, and with which token.
/// </summary>
public sealed class FhirLoadingHardeningTests : IAsyncLifetime
{
    private const string Token = "token-for-server-a";
    private LoopbackHttpServer _a = null!;
    private LoopbackHttpServer _b = null!;
    private Func<HttpContext, Task<JsonNode?>> _serveA = _ => Task.FromResult<JsonNode?>(HookRequests.Searchset());
    private readonly ConcurrentQueue<string> _pagesA = new();

    public async Task InitializeAsync()
    {
        _a = await LoopbackHttpServer.StartAsync(async context => await WriteAsync(context, await _serveA(context)));
        _b = await LoopbackHttpServer.StartAsync(context => WriteAsync(context, context.Request.Path == "/fhir/Patient/p1" ? HookRequests.Patient() : HookRequests.Searchset()));
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    private string BaseA => _a.BaseAddress + "fhir";
    private string BaseB => _b.BaseAddress + "fhir";

    private CdsRiskApiFactory Factory(Dictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Fhir:AllowedServers:0"] = BaseA,
            ["Fhir:AllowedServers:1"] = BaseB,
            ["Fhir:TimeoutSeconds"] = "5",
            ["Logging:LogLevel:Default"] = "Trace",
        };
        foreach (var (k, v) in settings ?? [])
        {
            all[k] = v;
        }

        return new CdsRiskApiFactory(all);
    }

    private static async Task WriteAsync(HttpContext context, JsonNode? body)
    {
        if (body is null)
        {
            context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            return;
        }

        context.Response.ContentType = "application/fhir+json";
        await context.Response.WriteAsync(body.ToJsonString());
    }

    private static JsonObject Call(string fhirServer, JsonObject? prefetch = null, string? token = Token)
    {
        var request = HookRequests.PatientView(prefetch ?? new JsonObject { ["patient"] = HookRequests.Patient() }, fhirServer);
        request["hookInstance"] = Guid.NewGuid().ToString();
        if (token is not null)
        {
            request["fhirAuthorization"] = new JsonObject
            {
                ["access_token"] = token,
                ["token_type"] = "Bearer",
                ["expires_in"] = 300,
                ["scope"] = "patient/*.read",
                ["subject"] = "cds-service",
            };
        }

        return request;
    }

    private static async Task<HttpResponseMessage> PostAsync(CdsRiskApiFactory factory, JsonObject request, CancellationToken cancellationToken = default)
    {
        using var client = factory.CreateClient();
        return await client.PostAsync(new Uri(HookRequests.PatientViewPath, UriKind.Relative), HookRequests.Json(request), cancellationToken);
    }

    private static async Task<JsonObject> ProblemAsync(HttpResponseMessage response, string code)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.Equal(code, problem["code"]!.GetValue<string>());
        return problem;
    }

    // ---- item 4 ----

    [Fact]
    public async Task FailingServerTripsItsOwnBreaker_AndHooksForAnotherAllowedServerStillLoadEveryKey()
    {
        _serveA = _ => Task.FromResult<JsonNode?>(null); // every request to A answers 500
        using var factory = Factory();

        // Twelve fetched keys per hook, two attempts each: the standard breaker (100 calls, 10 % failures) opens within a few hooks.
        var opened = false;
        for (var i = 0; i < 20 && !opened; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await PostAsync(factory, Call(BaseA))).StatusCode);
            opened = factory.Evaluator.LastPatient!.DataGaps.Any(g => g.Reason.Contains("circuit open", StringComparison.Ordinal));
        }

        Assert.True(opened, "the failing server's breaker never opened");
        Assert.Equal(12, factory.Evaluator.LastPatient!.DataGaps.Count);

        var response = await PostAsync(factory, Call(BaseB, token: null));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var record = factory.Evaluator.LastPatient!;
        Assert.Empty(record.DataGaps);
        Assert.Empty(record.UnavailableData);
        Assert.Equal(11, record.FetchedData.Count); // twelve keys, eleven categories (labs and clinical-observations are both Observation)
        Assert.Equal(12, _b.Requests.Count);
    }

    // ---- item 7 ----

    [Fact]
    public async Task HundredThousandObservations_IsRefusedWith400NamingTheKey_UnderTheDefaults()
    {
        using var factory = Factory();
        var observation = HookRequests.Observation("x", "1834-1", 12m, "ng/mL").ToJsonString();
        var entries = new StringBuilder();
        for (var i = 0; i < 100_000; i++)
        {
            entries.Append(i == 0 ? "" : ",").Append("{\"resource\":").Append(observation.Replace("\"id\":\"x\"", $"\"id\":\"o{i}\"", StringComparison.Ordinal)).Append('}');
        }

        var prefetch = HookRequests.FullPrefetch();
        prefetch["labs"] = JsonNode.Parse($$"""{"resourceType":"Bundle","type":"searchset","entry":[{{entries}}]}""");

        var response = await PostAsync(factory, Call(BaseA, prefetch));

        var problem = await ProblemAsync(response, "CDSR-1012");
        Assert.Contains("Fhir:MaxPrefetchEntriesPerKey", problem["errors"]!["prefetch.labs"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(_a.Requests);
        Assert.Null(factory.Evaluator.LastPatient);
    }

    [Fact]
    public async Task PrefetchOverTheConfiguredCap_Is400NamingTheKey()
    {
        using var factory = Factory(new() { ["Fhir:MaxPrefetchEntriesPerKey"] = "1", ["Fhir:MaxEntriesTotal"] = "10" });

        var response = await PostAsync(factory, Call(BaseA, HookRequests.FullPrefetch())); // labs holds 2 Observations

        var problem = await ProblemAsync(response, "CDSR-1012");
        Assert.NotNull(problem["errors"]!["prefetch.labs"]);
    }

    [Fact]
    public async Task AbortedRequest_StopsLoading_AndTheServerSeesNoFurtherPageRequests()
    {
        using var factory = Factory();
        using var client = factory.CreateClient();
        using var abort = new CancellationTokenSource();
        _serveA = async context =>
        {
            if (context.Request.Path != "/fhir/Condition")
            {
                return HookRequests.Searchset();
            }

            var page = int.Parse(context.Request.Query["page"].FirstOrDefault() ?? "1", System.Globalization.CultureInfo.InvariantCulture);
            _pagesA.Enqueue(context.Request.QueryString.Value!);
            if (page == 3)
            {
                await abort.CancelAsync(); // the EHR gives up while the third page is being served
            }

            return HookRequests.Searchset($"{BaseA}/Condition?patient=p1&page={page + 1}", HookRequests.Condition("c" + page));
        };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            client.PostAsync(new Uri(HookRequests.PatientViewPath, UriKind.Relative), HookRequests.Json(Call(BaseA)), abort.Token));

        // Without the abort the loader would go on to Fhir:MaxPages (20) pages. Wait until the server has been quiet for a second.
        var seen = -1;
        for (var i = 0; i < 20 && seen != _pagesA.Count; i++)
        {
            seen = _pagesA.Count;
            await Task.Delay(1000);
        }

        Assert.InRange(_pagesA.Count, 3, 4); // the page in flight when the client left may still be asked for; nothing after it
        Assert.Null(factory.Evaluator.LastPatient);
    }

    // ---- item 15 ----

    [Fact]
    public async Task NextLinkToAnotherAllowedServer_IsNotFollowed_SoTheHooksTokenNeverReachesIt()
    {
        _serveA = context => Task.FromResult<JsonNode?>(context.Request.Path == "/fhir/Condition"
            ? HookRequests.Searchset($"{BaseB}/Condition?patient=p1&page=2", HookRequests.Condition("hcc-1"))
            : HookRequests.Searchset());
        using var factory = Factory();

        var response = await PostAsync(factory, Call(BaseA));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(_b.Requests);
        Assert.All(_a.Requests, r => Assert.Equal("Bearer " + Token, r.Authorization));
        var record = factory.Evaluator.LastPatient!;
        Assert.Equal(["hcc-1"], record.Conditions.Select(c => c.Id));
        var gap = Assert.Single(record.DataGaps);
        Assert.Equal(("conditions", "Condition"), (gap.Key, gap.Category));
        Assert.Contains("fhirServer", gap.Reason, StringComparison.Ordinal);
    }

    // ---- item 18 ----

    [Fact]
    public async Task ResourcesOfAnotherPatient_AreDropped_AndTheLogSaysHowManyButNoId()
    {
        _serveA = context => Task.FromResult<JsonNode?>(context.Request.Path == "/fhir/Observation"
            ? HookRequests.Searchset(HookRequests.Observation("theirs-fetched", "1834-1", 12m, "ng/mL").Also(o => o["subject"] = new JsonObject { ["reference"] = "Patient/victim-2" }))
            : HookRequests.Searchset());
        using var factory = Factory();
        var prefetch = HookRequests.FullPrefetch();
        prefetch.Remove("labs");
        prefetch["conditions"] = HookRequests.Searchset(HookRequests.Condition("mine"), HookRequests.Condition("theirs-given").Also(c => c["subject"] = new JsonObject { ["reference"] = "Patient/victim-2" }));

        var response = await PostAsync(factory, Call(BaseA, prefetch));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var record = factory.Evaluator.LastPatient!;
        Assert.Equal(["mine"], record.Conditions.Select(c => c.Id));
        Assert.DoesNotContain(record.Observations, o => o.Id == "theirs-fetched");
        Assert.Equal(["conditions:Condition/theirs-given", "labs:Observation/theirs-fetched"], record.DroppedResources.Select(d => $"{d.Key}:{d.ResourceType}/{d.Id}").Order());
        Assert.Contains(factory.Logs, l => l.Contains("1 Condition resource(s) in prefetch key conditions left out", StringComparison.Ordinal));
        Assert.DoesNotContain(factory.Logs, l => l.Contains("victim-2", StringComparison.Ordinal) || l.Contains("theirs-", StringComparison.Ordinal));
    }

    // ---- item 20 ----

    [Fact]
    public async Task InvalidUtf8InsidePrefetch_Is400Cdsr1001NamingTheKey()
    {
        using var factory = Factory();
        var prefetch = HookRequests.FullPrefetch();
        prefetch["labs"] = HookRequests.Searchset(HookRequests.Observation("afp", "1834-1", 12m, "ng/mL").Also(o => o["code"]!["text"] = "AFP\u0001MARK"));
        var text = Call(BaseA, prefetch).ToJsonString();
        var bytes = Encoding.UTF8.GetBytes(text.Replace("\\u0001MARK", "#MARK", StringComparison.Ordinal));
        bytes[Array.IndexOf(bytes, (byte)'#')] = 0xFF; // a byte that is never UTF-8

        using var client = factory.CreateClient();
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var response = await client.PostAsync(new Uri(HookRequests.PatientViewPath, UriKind.Relative), content);

        var problem = await ProblemAsync(response, "CDSR-1001");
        Assert.Contains("prefetch.labs.entry[0].resource.code.text", problem["errors"]!["prefetch.labs"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Null(factory.Evaluator.LastPatient);
    }
}

internal static class JsonObjectExtensions
{
    public static JsonObject Also(this JsonObject node, Action<JsonObject> change)
    {
        change(node);
        return node;
    }
}
