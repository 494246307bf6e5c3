using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace CdsRisk.IntegrationTests.Hooks;

/// <summary>Missing prefetch fetched from a canned FHIR server on loopback.</summary>
public sealed class PrefetchFetchTests : IAsyncLifetime
{
    private const string Token = "secret-token-123";
    private LoopbackHttpServer _fhir = null!;
    private CdsRiskApiFactory _factory = null!;
    private int _inFlight;
    private int _maxInFlight;

    public HttpStatusCode PatientStatus { get; set; } = HttpStatusCode.OK;

    public async Task InitializeAsync()
    {
        _fhir = await LoopbackHttpServer.StartAsync(ServeAsync);
        _factory = new CdsRiskApiFactory(new Dictionary<string, string?>
        {
            ["Fhir:AllowedServers:0"] = FhirBase,
            ["Fhir:TimeoutSeconds"] = "5",
            ["Logging:LogLevel:Default"] = "Trace",
        });
    }

    public async Task DisposeAsync()
    {
        _factory.Dispose();
        await _fhir.DisposeAsync();
    }

    private string FhirBase => _fhir.BaseAddress + "fhir";

    private async Task ServeAsync(HttpContext context)
    {
        var now = Interlocked.Increment(ref _inFlight);
        InterlockedMax(ref _maxInFlight, now);
        try
        {
            await Task.Delay(50);
            var path = context.Request.Path.Value!;
            JsonNode body;
            if (path == "/fhir/Patient/p1")
            {
                if (PatientStatus != HttpStatusCode.OK)
                {
                    context.Response.StatusCode = (int)PatientStatus;
                    return;
                }

                body = HookRequests.Patient();
            }
            else if (path == "/fhir/Condition")
            {
                body = HookRequests.Searchset(FhirBase + "/Condition?patient=p1&page=2", HookRequests.Condition("hcc-1"));
                if (context.Request.Query["page"] == "2")
                {
                    body = HookRequests.Searchset(HookRequests.Condition("hcc-2"));
                }
            }
            else if (path == "/fhir/Observation")
            {
                body = HookRequests.Searchset(HookRequests.Observation("afp-9", "1834-1", 12m, "ng/mL"));
            }
            else
            {
                body = HookRequests.Searchset();
            }

            context.Response.ContentType = "application/fhir+json";
            await context.Response.WriteAsync(body.ToJsonString());
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    private static JsonObject WithAuthorization(JsonObject request)
    {
        request["fhirAuthorization"] = new JsonObject
        {
            ["access_token"] = Token,
            ["token_type"] = "Bearer",
            ["expires_in"] = 300,
            ["scope"] = "patient/*.read",
            ["subject"] = "cds-service",
        };
        return request;
    }

    private async Task<HttpResponseMessage> CallAsync(JsonObject request)
    {
        using var client = _factory.CreateClient();
        return await client.PostAsync(new Uri(HookRequests.PatientViewPath, UriKind.Relative), HookRequests.Json(request));
    }

    [Fact]
    public async Task AbsentKeys_AreFetchedInParallel_WithTheBearerToken_AndPagesFollowed()
    {
        var response = await CallAsync(WithAuthorization(HookRequests.PatientView(new JsonObject { ["patient"] = HookRequests.Patient() }, FhirBase)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var requests = _fhir.Requests.ToList();
        Assert.DoesNotContain(requests, r => r.PathAndQuery.StartsWith("/fhir/Patient", StringComparison.Ordinal));
        Assert.Equal(13, requests.Count); // twelve absent keys + the second Condition page
        Assert.All(requests, r => Assert.Equal("Bearer " + Token, r.Authorization));
        Assert.All(requests, r => Assert.Contains("application/fhir+json", r.Accept, StringComparison.Ordinal));
        Assert.Contains(requests, r => r.PathAndQuery.Contains("_sort=-date", StringComparison.Ordinal) && r.PathAndQuery.StartsWith("/fhir/Observation?patient=p1", StringComparison.Ordinal));
        Assert.True(_maxInFlight > 1, $"fetches ran one at a time (max in flight {_maxInFlight})");

        var patient = _factory.Evaluator.LastPatient!;
        Assert.Equal(["hcc-1", "hcc-2"], patient.Conditions.Select(c => c.Id).Order());
        Assert.Single(patient.Observations); // the same Observation from both Observation keys is kept once
        Assert.Empty(patient.UnavailableData);

        Assert.NotEmpty(_factory.Logs);
        Assert.DoesNotContain(_factory.Logs, line => line.Contains(Token, StringComparison.Ordinal));
        Assert.DoesNotContain(_factory.Logs, line => line.Contains("patient=p1", StringComparison.Ordinal) || line.Contains("Patient/p1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PresentKeys_AreNotFetched_AndOperationOutcomeKeysAreFetchedAgain()
    {
        var prefetch = HookRequests.FullPrefetch();
        prefetch["labs"] = HookRequests.OperationOutcome();

        var response = await CallAsync(HookRequests.PatientView(prefetch, FhirBase));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var request = Assert.Single(_fhir.Requests);
        Assert.StartsWith("/fhir/Observation?patient=p1&code=http", request.PathAndQuery, StringComparison.Ordinal);
        Assert.Null(request.Authorization); // no fhirAuthorization sent: fetch without a token (the sandbox's way)
        Assert.Contains(_factory.Evaluator.LastPatient!.Observations, o => o.Id == "afp-9");
    }

    [Fact]
    public async Task PrefetchBundleWithNextLink_IsCompletedFromTheServer()
    {
        var prefetch = HookRequests.FullPrefetch();
        prefetch["conditions"] = HookRequests.Searchset(FhirBase + "/Condition?patient=p1&page=2", HookRequests.Condition("hcc-1"));

        var response = await CallAsync(HookRequests.PatientView(prefetch, FhirBase));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(_fhir.Requests, r => r.PathAndQuery.Contains("page=2", StringComparison.Ordinal));
        Assert.Contains(_factory.Evaluator.LastPatient!.Conditions, c => c.Id == "hcc-2");
    }

    [Fact]
    public async Task PatientFetchedWhenAbsent()
    {
        var prefetch = HookRequests.FullPrefetch();
        prefetch.Remove("patient");

        var response = await CallAsync(HookRequests.PatientView(prefetch, FhirBase));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/fhir/Patient/p1", Assert.Single(_fhir.Requests).PathAndQuery);
    }

    [Theory]
    [InlineData(HttpStatusCode.NotFound)]
    [InlineData(HttpStatusCode.InternalServerError)]
    [InlineData(HttpStatusCode.Unauthorized)]
    public async Task Returns412_WhenPatientFetchFails(HttpStatusCode status)
    {
        PatientStatus = status;
        var prefetch = HookRequests.FullPrefetch();
        prefetch.Remove("patient");

        var response = await CallAsync(HookRequests.PatientView(prefetch, FhirBase));

        await AssertOperationOutcome412(response, "patient");
    }

    [Fact]
    public async Task Returns412_WhenFhirServerIsNotAllowed_AndNothingIsFetched()
    {
        var prefetch = HookRequests.FullPrefetch();
        prefetch.Remove("patient");

        var response = await CallAsync(HookRequests.PatientView(prefetch, _fhir.BaseAddress + "fhir-evil"));

        await AssertOperationOutcome412(response, "Fhir:AllowedServers");
        Assert.Empty(_fhir.Requests);
    }

    [Fact]
    public async Task NextLinkOffTheAllowList_IsNotFollowed_AndTheCategoryIsUnavailable()
    {
        var prefetch = HookRequests.FullPrefetch();
        prefetch["conditions"] = HookRequests.Searchset("http://169.254.169.254/latest/meta-data?page=2", HookRequests.Condition("hcc-1"));

        var response = await CallAsync(HookRequests.PatientView(prefetch, FhirBase));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(_fhir.Requests);
        Assert.Equal(["Condition"], _factory.Evaluator.LastPatient!.UnavailableData);
    }

    internal static async Task AssertOperationOutcome412(HttpResponseMessage response, string expectedInDiagnostics)
    {
        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
        Assert.Equal("application/fhir+json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("OperationOutcome", body["resourceType"]!.GetValue<string>());
        var issue = body["issue"]![0]!;
        Assert.Equal("error", issue["severity"]!.GetValue<string>());
        Assert.Equal("CDSR-1101", issue["details"]!["coding"]![0]!["code"]!.GetValue<string>());
        Assert.Contains(expectedInDiagnostics, issue["diagnostics"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
