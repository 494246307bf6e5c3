using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using CdsRisk.Api.Scoring;
using CdsRisk.IntegrationTests.TestServers;
using CdsRisk.TestSupport;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CdsRisk.IntegrationTests.EndToEnd;

/// <summary>
/// order-select and order-sign (issue 15 item 1; issue 14 section 1) against the real FHIR test server: the patient's record is a
/// vignette loaded under fresh ids and fetched by the service with the hook's token; only the MRI reading is replaced by what the
/// vignette says the images showed. A resection order of a potential candidate is the moment to refer for screening; a regimen
/// drug related to a recorded hypersensitivity is a critical card; anything else, however sparse, is exactly {"cards":[]}.
/// </summary>
[Collection("servers")]
public sealed class OrderHookTests(TestEnvironment env)
{
    public const string OrderSign = "/cds-services/nct07282184-order-sign";

    public static TheoryData<string> OrderHooks() => ["order-select", "order-sign"];

    [Theory]
    [MemberData(nameof(OrderHooks))]
    public async Task ResectionOrderOfACandidate_IsTheMomentToReferForScreening_NeverAReasonToHoldTheOrder(string hook)
    {
        await using var patient = await LoadAsync("01-base-eligible");
        var body = await CallAsync(patient, hook, [Hepatectomy(patient.Id)], HttpStatusCode.OK);

        var card = Assert.Single(body!["cards"]!.AsArray())!;
        Assert.Equal("resection-ordered", card["extension"]!["cdsrisk"]!["card"]!.GetValue<string>());
        Assert.Equal("warning", card["indicator"]!.GetValue<string>());
        Assert.StartsWith("Potential NCT07282184 candidate (PRE 0.72), resection ordered: refer for trial screening", card["summary"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("this order is the moment to refer the patient to the trial team for screening", card["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("Refer to the NCT07282184 trial team for screening", card["suggestions"]![0]!["label"]!.GetValue<string>());
        Assert.Empty(CardWording.Problems(body));
    }

    [Theory]
    [MemberData(nameof(OrderHooks))]
    public async Task RegimenDrugWithARecordedHypersensitivity_IsACriticalCard_NamingTheAllergenTheOrderedDrugAndPossibleCrossReactivity(string hook)
    {
        await using var patient = await LoadAsync("27-allergy-by-code");
        var body = await CallAsync(patient, hook, [Medication(patient.Id, "carbo", "40048", "carboplatin")], HttpStatusCode.OK);

        var cards = body!["cards"]!.AsArray();
        var alert = cards[0]!;
        Assert.Equal("critical", alert["indicator"]!.GetValue<string>());
        Assert.Equal("regimen-hypersensitivity", alert["extension"]!["cdsrisk"]!["card"]!.GetValue<string>());
        Assert.Equal("Hypersensitivity recorded to oxaliplatin; carboplatin ordered: possible cross-reactivity", alert["summary"]!.GetValue<string>());
        Assert.Null(alert["suggestions"]); // no action on the order: the prescriber decides
        Assert.Equal("ineligible", cards[1]!["extension"]!["cdsrisk"]!["outcome"]!.GetValue<string>());
        Assert.Empty(CardWording.Problems(body));
    }

    public static TheoryData<string, string> UnrelatedOrders() => new()
    {
        // The Sandbox's medication screen: a draft MedicationRequest with no medication and no intent.
        { "order-select", """{"resourceType":"MedicationRequest","id":"sandbox-med","status":"draft","subject":{"reference":"Patient/{{patient}}"}}""" },
        { "order-sign", """{"resourceType":"MedicationRequest","id":"sandbox-med","status":"draft","subject":{"reference":"Patient/{{patient}}"}}""" },
        // The Sandbox's imaging screen: a ServiceRequest whose code is "coding":[{}].
        { "order-select", """{"resourceType":"ServiceRequest","id":"sandbox-img","status":"draft","intent":"order","code":{"coding":[{}]},"subject":{"reference":"Patient/{{patient}}"}}""" },
        { "order-sign", """{"resourceType":"ServiceRequest","id":"sandbox-img","status":"draft","intent":"order","code":{"coding":[{}]},"subject":{"reference":"Patient/{{patient}}"}}""" },
        // An ordinary unrelated order.
        { "order-sign", """{"resourceType":"MedicationRequest","id":"amox","status":"draft","intent":"order","medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"308182","display":"amoxicillin 250 MG Oral Capsule"}]},"subject":{"reference":"Patient/{{patient}}"}}""" },
    };

    [Theory]
    [MemberData(nameof(UnrelatedOrders))]
    public async Task UnrelatedOrSparseOrders_AreAnsweredExactlyWithNoCards_NeverA400(string hook, string order)
    {
        await using var patient = await LoadAsync("01-base-eligible");
        var resource = JsonNode.Parse(order.Replace("{{patient}}", patient.Id, StringComparison.Ordinal))!.AsObject();

        using var client = patient.Factory.CreateClient();
        using var response = await client.PostAsync(new Uri(Path(hook), UriKind.Relative), Json(Request(patient, hook, [resource])));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"cards":[]}""", await response.Content.ReadAsStringAsync());
        Assert.Empty(patient.Work.StudiesScored); // nothing was evaluated for an unrelated order
    }

    [Fact]
    public async Task SparseDraftOrders_AreReadLeniently_WhatCanBeReadIsUsed()
    {
        await using var patient = await LoadAsync("01-base-eligible");
        JsonObject[] orders =
        [
            JsonNode.Parse("""{"resourceType":"MedicationRequest","id":"sandbox-med"}""")!.AsObject(),
            JsonNode.Parse("""{"resourceType":"ServiceRequest","id":"sandbox-img","code":{"coding":[{}]}}""")!.AsObject(),
            Hepatectomy(patient.Id),
        ];

        var body = await CallAsync(patient, "order-sign", orders, HttpStatusCode.OK);

        Assert.Equal("resection-ordered", Assert.Single(body!["cards"]!.AsArray())!["extension"]!["cdsrisk"]!["card"]!.GetValue<string>());
    }

    public static TheoryData<string, string> NotABundle() => new()
    {
        { "order-sign", """{"resourceType":"MedicationRequest","id":"m1"}""" },
        { "order-sign", """[{"resourceType":"Bundle"}]""" },
        { "order-select", """{"resourceType":"MedicationRequest","id":"m1"}""" },
    };

    [Theory]
    [MemberData(nameof(NotABundle))]
    public async Task DraftOrdersThatIsNotABundle_Is400NamingContextDraftOrders(string hook, string draftOrders)
    {
        await using var patient = await LoadAsync("01-base-eligible");
        var request = Request(patient, hook, []);
        request["context"]!["draftOrders"] = JsonNode.Parse(draftOrders);
        if (hook == "order-select")
        {
            request["context"]!["selections"] = new JsonArray("MedicationRequest/m1");
        }

        using var client = patient.Factory.CreateClient();
        using var response = await client.PostAsync(new Uri(Path(hook), UriKind.Relative), Json(request));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.NotNull(problem["errors"]!["context.draftOrders"]);
    }

    [Fact]
    public async Task OrderSign_WithoutDraftOrders_Is400NamingContextDraftOrders()
    {
        await using var patient = await LoadAsync("01-base-eligible");
        var request = Request(patient, "order-sign", []);
        request["context"]!.AsObject().Remove("draftOrders");

        using var client = patient.Factory.CreateClient();
        using var response = await client.PostAsync(new Uri(OrderSign, UriKind.Relative), Json(request));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotNull(JsonNode.Parse(await response.Content.ReadAsStringAsync())!["errors"]!["context.draftOrders"]);
    }

    private static string Path(string hook) => hook == "order-sign" ? OrderSign : HookCalls.OrderSelect;

    private static StringContent Json(JsonObject request) => new(request.ToJsonString(), System.Text.Encoding.UTF8, "application/json");

    private async Task<JsonObject?> CallAsync(LoadedPatient patient, string hook, JsonObject[] orders, HttpStatusCode expected)
    {
        using var client = patient.Factory.CreateClient();
        var (status, body) = await HookCalls.PostAsync(client, Path(hook), Request(patient, hook, orders));
        Assert.Equal(expected, status);
        return body;
    }

    /// <summary>A hook call as an EHR sends it: no prefetch (the service fetches with the token), the orders as draftOrders.</summary>
    private JsonObject Request(LoadedPatient patient, string hook, JsonObject[] orders)
    {
        var request = HookCalls.PatientViewRequest(env, patient.Id);
        request["hook"] = hook;
        var context = request["context"]!.AsObject();
        context["encounterId"] = "enc-1";
        context["draftOrders"] = new JsonObject
        {
            ["resourceType"] = "Bundle",
            ["type"] = "collection",
            ["entry"] = new JsonArray([.. orders.Select(o => (JsonNode)new JsonObject { ["resource"] = o.DeepClone() })]),
        };
        if (hook == "order-select")
        {
            context["selections"] = new JsonArray([.. orders.Select(o => (JsonNode)$"{o["resourceType"]}/{o["id"]}")]);
        }

        return request;
    }

    private static JsonObject Hepatectomy(string patientId) => new()
    {
        ["resourceType"] = "ServiceRequest",
        ["id"] = "draft-hepatectomy",
        ["status"] = "draft",
        ["intent"] = "order",
        ["code"] = new JsonObject
        {
            ["coding"] = new JsonArray(new JsonObject { ["system"] = "http://www.ama-assn.org/go/cpt", ["code"] = "47120", ["display"] = "Hepatectomy, resection of liver; partial lobectomy" }),
            ["text"] = "Liver resection (partial hepatectomy)",
        },
        ["subject"] = new JsonObject { ["reference"] = "Patient/" + patientId },
    };

    private static JsonObject Medication(string patientId, string id, string rxnorm, string display) => new()
    {
        ["resourceType"] = "MedicationRequest",
        ["id"] = id,
        ["status"] = "draft",
        ["intent"] = "order",
        ["medicationCodeableConcept"] = new JsonObject
        {
            ["coding"] = new JsonArray(new JsonObject { ["system"] = "http://www.nlm.nih.gov/research/umls/rxnorm", ["code"] = rxnorm, ["display"] = display }),
        },
        ["subject"] = new JsonObject { ["reference"] = "Patient/" + patientId },
    };

    /// <summary>Loads a vignette into the FHIR server with its dates moved to today, and a service whose MRI reading gives what the vignette says.</summary>
    private async Task<LoadedPatient> LoadAsync(string vignette)
    {
        var folder = VignetteHookTests.Folder;
        var expected = JsonNode.Parse(await File.ReadAllTextAsync(System.IO.Path.Combine(folder, vignette + ".expected.json")))!.AsObject();
        var evaluatedAt = DateTimeOffset.Parse(expected["evaluatedAt"]!.GetValue<string>(), CultureInfo.InvariantCulture);
        var shiftDays = DateOnly.FromDateTime(DateTime.UtcNow).DayNumber - DateOnly.FromDateTime(evaluatedAt.UtcDateTime).DayNumber;
        var prefix = $"o{vignette[..vignette.IndexOf('-', StringComparison.Ordinal)]}-{Guid.NewGuid().ToString("N")[..8]}";
        var bundle = VignetteHookTests.Prepare(JsonNode.Parse(await File.ReadAllTextAsync(System.IO.Path.Combine(folder, vignette + ".json")))!.AsObject(), prefix, shiftDays);
        var stored = await env.PostFhirBundleAsync(bundle.ToJsonString());
        Assert.All(stored["entry"]!.AsArray(), e => Assert.StartsWith("2", e!["response"]!["status"]!.GetValue<string>(), StringComparison.Ordinal));

        var work = new VignetteHookTests.VignetteScoringWork(expected);
        var factory = new ServiceFactory(env, new Dictionary<string, string?>
        {
            ["Pipeline:LatencyBudgetMilliseconds"] = "3000",
            ["Pipeline:EvaluationCacheSeconds"] = "0",
            ["Fhir:TimeoutSeconds"] = "30",
            // The vignettes' ImagingStudies name no Endpoint: their images are on the site's default image server.
            ["DicomWeb:BaseUrl"] = env.DicomWebBaseUrl.AbsoluteUri,
        });
        var app = factory.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.Replace(ServiceDescriptor.Singleton<IScoringWork>(work))));
        return new LoadedPatient($"{prefix}-p1", factory, app, work, () => env.PostFhirBundleAsync(VignetteHookTests.Deletes(bundle).ToJsonString()));
    }

    private sealed class LoadedPatient(string id, ServiceFactory owner, Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program> factory,
        VignetteHookTests.VignetteScoringWork work, Func<Task> delete) : IAsyncDisposable
    {
        public string Id { get; } = id;
        public Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program> Factory { get; } = factory;
        public VignetteHookTests.VignetteScoringWork Work { get; } = work;

        public async ValueTask DisposeAsync()
        {
            await Factory.DisposeAsync();
            await owner.DisposeAsync();
            // The in-memory test server searches by scanning: leave it as small as it was for the tests that follow.
            await delete();
        }
    }
}
