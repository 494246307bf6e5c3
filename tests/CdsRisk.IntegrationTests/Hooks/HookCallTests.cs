using System.Net;
using System.Text.Json.Nodes;
using CdsRisk.Api.Pipeline;
using CdsRisk.Core.Eligibility;

namespace CdsRisk.IntegrationTests.Hooks;

public sealed class HookCallTests : IDisposable
{
    private readonly CdsRiskApiFactory _factory = new();

    public void Dispose() => _factory.Dispose();

    [Fact]
    public async Task Discovery_MatchesGoldenFile()
    {
        using var client = _factory.CreateClient();
        var response = await client.GetAsync(new Uri("/cds-services", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Golden.AssertMatches("discovery.json", body);
        JsonAssert.NoEmptyValues(body);
    }

    [Fact]
    public async Task Discovery_PrefetchTemplatesUseOnlyTokensAndTheRecommendedSubset()
    {
        using var client = _factory.CreateClient();
        var body = JsonNode.Parse(await client.GetStringAsync(new Uri("/cds-services", UriKind.Relative)))!;

        foreach (var service in body["services"]!.AsArray())
        {
            var prefetch = service!["prefetch"]!.AsObject();
            Assert.Equal(HookRequests.AllKeys.Order(), prefetch.Select(p => p.Key).Order());
            foreach (var (key, template) in prefetch)
            {
                var query = template!.GetValue<string>();
                Assert.Contains("{{context.patientId}}", query, StringComparison.Ordinal);
                Assert.DoesNotContain("{{context.userId}}", query, StringComparison.Ordinal);
                var parameters = query.Contains('?', StringComparison.Ordinal) ? query.Split('?', 2)[1].Split('&').Select(p => p.Split('=')[0]) : [];
                Assert.All(parameters, p => Assert.Contains(p, new[] { "patient", "code", "modality", "_count", "_sort" }));
            }
        }
    }

    [Fact]
    public async Task HookWithFullPrefetch_AnswersOneCardFieldByField()
    {
        using var client = _factory.CreateClient();
        var response = await client.PostAsync(new Uri(HookRequests.PatientViewPath, UriKind.Relative), HookRequests.Json(HookRequests.PatientView(HookRequests.FullPrefetch())));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Golden.AssertMatches("patient-view-full-prefetch.response.json", body);
        JsonAssert.NoEmptyValues(body);

        var card = body["cards"]![0]!;
        Assert.Equal(CdsRisk.Core.Cards.CardBuilder.CardUuid(Guid.Parse(HookRequests.HookInstance).ToString("D"), CdsRisk.Core.Cards.CardKind.Eligible).ToString(), card["uuid"]!.GetValue<string>());
        Assert.True(card["summary"]!.GetValue<string>().Length < 140);
        var extension = card["extension"]!["cdsrisk"]!;
        Assert.Equal("eligible", extension["outcome"]!.GetValue<string>());
        Assert.Equal(0.73, extension["preScore"]!.GetValue<double>());
        Assert.Equal(CriterionIds.All.Order(), extension["criteria"]!.AsObject().Select(c => c.Key).Order());
        Assert.Equal("to-be-confirmed", extension["criteria"]!["consent"]!["status"]!.GetValue<string>());

        var patient = _factory.Evaluator.LastPatient!;
        Assert.Equal("p1", patient.Patient.Id);
        Assert.Single(patient.Conditions);
        Assert.Equal(2, patient.Observations.Count);
        Assert.Empty(patient.UnavailableData);
    }

    [Fact]
    public async Task HL7OrderSelectExample_IsAccepted_AndItsUnrelatedOrdersGetExactlyNoCards()
    {
        using var client = _factory.CreateClient();
        var request = File.ReadAllText(RepoPaths.Golden("order-select-hl7-example.request.json"));

        var response = await client.PostAsync(new Uri(HookRequests.OrderSelectPath, UriKind.Relative), HookRequests.Json(request));

        // A pureed diet and amoxicillin: neither a liver resection nor a drug of the regimen's classes (issue 15 item 1).
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"cards":[]}""", await response.Content.ReadAsStringAsync());
        Assert.Null(_factory.Evaluator.LastPatient); // nothing evaluated for it
    }

    [Fact]
    public async Task HL7OrderSelectExample_WithARegimenDrug_IsReadAndAnsweredFieldByField()
    {
        using var client = _factory.CreateClient();
        // The same example, with the selected MedicationRequest ordering oxaliplatin (RxNorm 32592) instead of amoxicillin.
        var request = JsonNode.Parse(File.ReadAllText(RepoPaths.Golden("order-select-hl7-example.request.json")))!;
        var medication = request["context"]!["draftOrders"]!["entry"]![1]!["resource"]!;
        medication["medicationCodeableConcept"] = new JsonObject
        {
            ["coding"] = new JsonArray(new JsonObject { ["system"] = "http://www.nlm.nih.gov/research/umls/rxnorm", ["code"] = "32592", ["display"] = "oxaliplatin" }),
            ["text"] = "oxaliplatin",
        };

        var response = await client.PostAsync(new Uri(HookRequests.OrderSelectPath, UriKind.Relative), HookRequests.Json(request.ToJsonString()));

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var body = JsonNode.Parse(text)!;
        Golden.AssertMatches("order-select-hl7-example.response.json", body);
        var patient = _factory.Evaluator.LastPatient!;
        Assert.Equal(["NutritionOrder", "MedicationRequest"], patient.DraftOrders.Select(r => r.TypeName));
        Assert.Equal(["NutritionOrder/pureeddiet-simple", "MedicationRequest/smart-MedicationRequest-103"], patient.SelectedOrders);
        Assert.Equal("PractitionerRole/123", _factory.Evaluator.LastInvocation!.UserId);
        Assert.Equal("123", _factory.Evaluator.LastInvocation.UserLogicalId);
    }

    [Fact]
    public async Task RequestWithExtensionsAndUnknownMembers_IsAccepted()
    {
        using var client = _factory.CreateClient();
        var request = HookRequests.PatientView(HookRequests.FullPrefetch());
        request["extension"] = new JsonObject { ["com.example.ehr-tracking"] = new JsonObject { ["session"] = "abc", ["n"] = 3 } };
        request["context"]!["extension"] = new JsonObject { ["org.example.location"] = "ward 7" };
        request["someFutureMember"] = new JsonArray(1, 2, 3);
        request["prefetch"]!["unrequested-key"] = HookRequests.Searchset();

        var response = await client.PostAsync(new Uri(HookRequests.PatientViewPath, UriKind.Relative), HookRequests.Json(request));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(JsonNode.Parse(await response.Content.ReadAsStringAsync())!["cards"]!.AsArray());
    }

    [Fact]
    public async Task NullPrefetchKeys_MeanNoDataAndAreNotMarkedUnavailable()
    {
        using var client = _factory.CreateClient();
        var prefetch = HookRequests.FullPrefetch();
        foreach (var key in HookRequests.AllKeys.Skip(1))
        {
            prefetch[key] = null;
        }

        var response = await client.PostAsync(new Uri(HookRequests.PatientViewPath, UriKind.Relative), HookRequests.Json(HookRequests.PatientView(prefetch)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var patient = _factory.Evaluator.LastPatient!;
        Assert.Empty(patient.Conditions);
        Assert.Empty(patient.Observations);
        Assert.Empty(patient.UnavailableData);
    }

    [Fact]
    public async Task PartialPrefetchWithoutFhirServer_MarksTheMissingCategoriesUnavailable()
    {
        using var client = _factory.CreateClient();
        var prefetch = HookRequests.FullPrefetch();
        prefetch.Remove("allergies");
        prefetch.Remove("labs");

        var response = await client.PostAsync(new Uri(HookRequests.PatientViewPath, UriKind.Relative), HookRequests.Json(HookRequests.PatientView(prefetch)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["AllergyIntolerance", "Observation"], _factory.Evaluator.LastPatient!.UnavailableData.Order());
    }

    [Fact]
    public async Task OperationOutcomeInOptionalKeyWithoutFhirServer_IsNotTakenAsData()
    {
        using var client = _factory.CreateClient();
        var prefetch = HookRequests.FullPrefetch();
        prefetch["conditions"] = HookRequests.OperationOutcome();

        var response = await client.PostAsync(new Uri(HookRequests.PatientViewPath, UriKind.Relative), HookRequests.Json(HookRequests.PatientView(prefetch)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(_factory.Evaluator.LastPatient!.Conditions);
        Assert.Equal(["Condition"], _factory.Evaluator.LastPatient.UnavailableData);
    }

    [Fact]
    public async Task PatientOutsideTheTrialPopulation_GetsExactlyEmptyCards()
    {
        _factory.Evaluator.Applicable = false;
        using var client = _factory.CreateClient();

        var response = await client.PostAsync(new Uri(HookRequests.PatientViewPath, UriKind.Relative), HookRequests.Json(HookRequests.PatientView(HookRequests.FullPrefetch())));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"cards":[]}""", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task SameHookInstance_GetsTheSameCardUuid_DifferentInstance_ADifferentOne()
    {
        using var client = _factory.CreateClient();
        async Task<string> UuidFor(string hookInstance)
        {
            var request = HookRequests.PatientView(HookRequests.FullPrefetch());
            request["hookInstance"] = hookInstance;
            var body = JsonNode.Parse(await (await client.PostAsync(new Uri(HookRequests.PatientViewPath, UriKind.Relative), HookRequests.Json(request))).Content.ReadAsStringAsync())!;
            return body["cards"]![0]!["uuid"]!.GetValue<string>();
        }

        var first = await UuidFor(HookRequests.HookInstance);
        Assert.Equal(first, await UuidFor(HookRequests.HookInstance));
        Assert.NotEqual(first, await UuidFor("0b6f9d1e-3c2a-4f6e-8a1b-2c3d4e5f6a7b"));
    }
}

public sealed class ProvisionalEvaluatorTests : IDisposable
{
    private readonly CdsRiskApiFactory _factory = new(new Dictionary<string, string?>(), useRecordingEvaluator: false);

    public void Dispose() => _factory.Dispose();

    [Fact]
    public async Task RegisteredEvaluator_AnswersACardWithEveryCriterionInTheContractShape()
    {
        using var client = _factory.CreateClient();
        var response = await client.PostAsync(new Uri(HookRequests.PatientViewPath, UriKind.Relative), HookRequests.Json(HookRequests.PatientView(HookRequests.FullPrefetch())));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        JsonAssert.NoEmptyValues(body);
        foreach (var card in body["cards"]!.AsArray())
        {
            var extension = card!["extension"]!["cdsrisk"]!;
            Assert.Contains(extension["outcome"]!.GetValue<string>(), new[] { "eligible", "ineligible", "needs-data", "pending", "low-risk" });
            var criteria = extension["criteria"]!.AsObject();
            Assert.Equal(CriterionIds.All.Order(), criteria.Select(c => c.Key).Order());
            Assert.All(criteria, c =>
            {
                Assert.Contains(c.Value!["status"]!.GetValue<string>(), new[] { "pass", "fail", "unknown", "to-be-confirmed", "pending" });
                Assert.False(string.IsNullOrEmpty(c.Value["reason"]!.GetValue<string>()));
            });
        }
    }
}
