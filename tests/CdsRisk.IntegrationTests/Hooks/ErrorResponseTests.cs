using System.Net;
using System.Text.Json.Nodes;

namespace CdsRisk.IntegrationTests.Hooks;

public sealed class ErrorResponseTests : IDisposable
{
    private readonly CdsRiskApiFactory _factory = new();

    public void Dispose() => _factory.Dispose();

    private async Task<(HttpStatusCode Status, JsonNode? Body, string? MediaType)> PostAsync(string path, HttpContent content)
    {
        using var client = _factory.CreateClient();
        var response = await client.PostAsync(new Uri(path, UriKind.Relative), content);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length > 0 ? JsonNode.Parse(text) : null, response.Content.Headers.ContentType?.MediaType);
    }

    private static void AssertProblem(JsonNode? body, string code, params string[] fields)
    {
        Assert.NotNull(body);
        Assert.Equal(code, body["code"]!.GetValue<string>());
        Assert.Equal("https://cdsrisk.example.org/errors/" + code, body["type"]!.GetValue<string>());
        if (fields.Length > 0)
        {
            var errors = body["errors"]!.AsObject();
            Assert.Equal(fields.Order(), errors.Select(e => e.Key).Order());
        }
    }

    [Fact]
    public async Task Returns400_NamingEveryBadField()
    {
        var request = new JsonObject
        {
            ["hook"] = "patient-view",
            ["hookInstance"] = "not-a-uuid",
            ["fhirAuthorization"] = new JsonObject { ["access_token"] = "", ["token_type"] = "MAC" },
            ["context"] = new JsonObject { ["userId"] = "123", ["encounterId"] = "bad id!" },
            ["prefetch"] = new JsonObject { ["patient"] = 42 },
        };

        var (status, body, mediaType) = await PostAsync(HookRequests.PatientViewPath, HookRequests.Json(request));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("application/problem+json", mediaType);
        AssertProblem(body, "CDSR-1002",
            "hookInstance", "fhirServer", "fhirAuthorization.access_token", "fhirAuthorization.token_type", "fhirAuthorization.expires_in",
            "fhirAuthorization.scope", "fhirAuthorization.subject", "context.userId", "context.patientId", "context.encounterId", "prefetch.patient");
    }

    [Fact]
    public async Task Returns400_WhenHookOrContextIsMissing()
    {
        var (status, body, _) = await PostAsync(HookRequests.PatientViewPath, HookRequests.Json("{}"));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        AssertProblem(body, "CDSR-1002", "hook", "hookInstance", "context");
    }

    [Fact]
    public async Task Returns400_ForOrderSelectWithoutSelectionsOrDraftOrders()
    {
        var request = HookRequests.PatientView(HookRequests.FullPrefetch());
        request["hook"] = "order-select";

        var (status, body, _) = await PostAsync(HookRequests.OrderSelectPath, HookRequests.Json(request));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        AssertProblem(body, "CDSR-1002", "context.selections", "context.draftOrders");
    }

    [Fact]
    public async Task Returns400_WhenHookDoesNotMatchTheService()
    {
        var request = HookRequests.PatientView(HookRequests.FullPrefetch());
        request["hook"] = "encounter-start";

        var (status, body, _) = await PostAsync(HookRequests.PatientViewPath, HookRequests.Json(request));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        AssertProblem(body, "CDSR-1004", "hook");
    }

    [Theory]
    [InlineData("{\"hook\": ")]
    [InlineData("[1,2,3]")]
    [InlineData("{\"hook\":\"patient-view\",\"context\":{\"patientId\":5}}")]
    [InlineData("{\"hook\":\"patient-view\",\"context\":[]}")]
    public async Task Returns400_ForMalformedJson(string body)
    {
        var (status, problem, _) = await PostAsync(HookRequests.PatientViewPath, HookRequests.Json(body));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        AssertProblem(problem, "CDSR-1001");
    }

    [Fact]
    public async Task Returns400_ForAnEmptyBody()
    {
        var (status, problem, _) = await PostAsync(HookRequests.PatientViewPath, HookRequests.Json(""));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.NotNull(problem?["code"]);
    }

    [Fact]
    public async Task Returns415_ForANonJsonBody()
    {
        var (status, problem, _) = await PostAsync(HookRequests.PatientViewPath, new StringContent("hook=patient-view", System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
        AssertProblem(problem, "CDSR-1007");
    }

    [Fact]
    public async Task Returns400_NamingThePrefetchKey_WhenAPrefetchResourceIsMalformed()
    {
        var prefetch = HookRequests.FullPrefetch();
        prefetch["labs"] = new JsonObject { ["resourceType"] = "Bundle", ["entry"] = "not an array" };

        var (status, body, _) = await PostAsync(HookRequests.PatientViewPath, HookRequests.Json(HookRequests.PatientView(prefetch)));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        AssertProblem(body, "CDSR-1005", "prefetch.labs");
    }

    [Fact]
    public async Task Returns400_WhenThePrefetchedPatientIsAnotherPatient()
    {
        var prefetch = HookRequests.FullPrefetch();
        prefetch["patient"] = HookRequests.Patient("someone-else");

        var (status, body, _) = await PostAsync(HookRequests.PatientViewPath, HookRequests.Json(HookRequests.PatientView(prefetch)));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        AssertProblem(body, "CDSR-1006", "prefetch.patient");
    }

    [Theory]
    [InlineData("/cds-services/no-such-service")]
    [InlineData("/cds-services/no-such-service/feedback")]
    public async Task Returns404_ForAnUnknownService(string path)
    {
        var (status, body, _) = await PostAsync(path, HookRequests.Json(HookRequests.PatientView(HookRequests.FullPrefetch())));

        Assert.Equal(HttpStatusCode.NotFound, status);
        AssertProblem(body, "CDSR-1003");
    }

    [Fact]
    public async Task Returns412_WhenPatientIsAbsentAndThereIsNoFhirServer()
    {
        var prefetch = HookRequests.FullPrefetch();
        prefetch.Remove("patient");

        using var client = _factory.CreateClient();
        var response = await client.PostAsync(new Uri(HookRequests.PatientViewPath, UriKind.Relative), HookRequests.Json(HookRequests.PatientView(prefetch)));

        await PrefetchFetchTests.AssertOperationOutcome412(response, "no fhirServer");
    }

    [Fact]
    public async Task Returns412_WhenThePatientKeyIsNull()
    {
        var prefetch = HookRequests.FullPrefetch();
        prefetch["patient"] = null;

        using var client = _factory.CreateClient();
        var response = await client.PostAsync(new Uri(HookRequests.PatientViewPath, UriKind.Relative), HookRequests.Json(HookRequests.PatientView(prefetch)));

        await PrefetchFetchTests.AssertOperationOutcome412(response, "'patient'");
    }

    [Fact]
    public async Task Returns412_WhenThePatientKeyHoldsAnOperationOutcomeAndThereIsNoFhirServer()
    {
        var prefetch = HookRequests.FullPrefetch();
        prefetch["patient"] = HookRequests.OperationOutcome();

        using var client = _factory.CreateClient();
        var response = await client.PostAsync(new Uri(HookRequests.PatientViewPath, UriKind.Relative), HookRequests.Json(HookRequests.PatientView(prefetch)));

        await PrefetchFetchTests.AssertOperationOutcome412(response, "'patient'");
    }

    [Fact]
    public async Task Returns412_WhenThePatientKeyHoldsAnotherResourceType()
    {
        var prefetch = HookRequests.FullPrefetch();
        prefetch["patient"] = HookRequests.Condition();

        using var client = _factory.CreateClient();
        var response = await client.PostAsync(new Uri(HookRequests.PatientViewPath, UriKind.Relative), HookRequests.Json(HookRequests.PatientView(prefetch)));

        await PrefetchFetchTests.AssertOperationOutcome412(response, "no Patient");
    }
}
