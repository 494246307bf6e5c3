using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CdsRisk.Cli.Demo;

/// <summary>Plays the EHR side of CDS Hooks 2.0: discovery, prefetch, signed hook calls, FHIR look-ups.</summary>
public sealed class DemoEhr(Uri serviceBase, CdsClientSigner signer, Uri fhirBase, string fhirToken) : IDisposable
{
    public const string PatientViewService = "nct07282184-patient-view";
    public const string OrderSelectService = "nct07282184-order-select";
    public const string OrderSignService = "nct07282184-order-sign";
    private const string UserId = "Practitioner/demo-surgeon";

    // Scenarios for which the demo surgeon also places a hepatectomy order (order-select).
    private static readonly HashSet<string> OrderScenarios =
        ["eligible-high-risk", "low-risk", "ineligible-oxaliplatin-allergy", "needs-data-no-ecog", "eligible-dynamic-layout"];

    private readonly HttpClient service = new() { Timeout = TimeSpan.FromMinutes(3) };
    private readonly HttpClient fhir = CreateFhirClient(fhirBase, fhirToken);

    /// <summary>Why discovery failed, when it did (the demo then calls the services without prefetch templates).</summary>
    public string? DiscoveryProblem { get; private set; }

    public static bool OrdersHepatectomy(string scenario) => OrderScenarios.Contains(scenario);

    /// <summary>GET /cds-services; returns service id → its description (hook, title, prefetch templates).</summary>
    public async Task<IReadOnlyDictionary<string, JsonObject>> DiscoverAsync(CancellationToken cancellationToken)
    {
        var url = new Uri(serviceBase, "/cds-services");
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", signer.CreateToken(url));
        try
        {
            using var response = await service.SendAsync(request, cancellationToken);
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                DiscoveryProblem = $"GET /cds-services answered {(int)response.StatusCode}";
                return new Dictionary<string, JsonObject>();
            }

            return (JsonNode.Parse(text)?["services"] as JsonArray ?? [])
                .OfType<JsonObject>()
                .Where(s => s["id"] is not null)
                .ToDictionary(s => (string)s["id"]!, s => s);
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or InvalidOperationException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            DiscoveryProblem = $"GET /cds-services failed: {ex.Message}";
            return new Dictionary<string, JsonObject>();
        }
    }

    public async Task<HookResult> PatientViewAsync(DemoPatient patient, IReadOnlyDictionary<string, JsonObject> services, bool withPrefetch, CancellationToken cancellationToken)
    {
        var context = new JsonObject { ["userId"] = UserId, ["patientId"] = patient.PatientId };
        return await CallAsync(PatientViewService, "patient-view", patient, context, services, withPrefetch, cancellationToken);
    }

    /// <summary>Scenarios for which the demo oncologist also selects a drug of the trial's regimen (order-select).</summary>
    public static bool OrdersRegimenDrug(string scenario) => scenario == "ineligible-oxaliplatin-allergy";

    /// <summary>order-select with a draft hepatectomy (CPT 47120) as the one selected order.</summary>
    public Task<HookResult> OrderSelectAsync(DemoPatient patient, IReadOnlyDictionary<string, JsonObject> services, bool withPrefetch, CancellationToken cancellationToken) =>
        OrderSelectAsync(patient, Hepatectomy(patient), services, withPrefetch, cancellationToken);

    /// <summary>order-select with a draft carboplatin order (RxNorm 40048), a platinum compound like the regimen's oxaliplatin.</summary>
    public Task<HookResult> OrderSelectRegimenDrugAsync(DemoPatient patient, IReadOnlyDictionary<string, JsonObject> services, bool withPrefetch, CancellationToken cancellationToken) =>
        OrderSelectAsync(patient, Carboplatin(patient), services, withPrefetch, cancellationToken);

    private static JsonObject Carboplatin(DemoPatient patient) => new()
    {
        ["resourceType"] = "MedicationRequest",
        ["id"] = "draft-carboplatin-" + patient.PatientId,
        ["status"] = "draft",
        ["intent"] = "order",
        ["medicationCodeableConcept"] = new JsonObject
        {
            ["coding"] = new JsonArray(new JsonObject
            {
                ["system"] = "http://www.nlm.nih.gov/research/umls/rxnorm",
                ["code"] = "40048",
                ["display"] = "carboplatin",
            }),
            ["text"] = "Carboplatin",
        },
        ["subject"] = new JsonObject { ["reference"] = "Patient/" + patient.PatientId },
        ["requester"] = new JsonObject { ["reference"] = UserId },
    };

    private static JsonObject Hepatectomy(DemoPatient patient) => new()
    {
        ["resourceType"] = "ServiceRequest",
        ["id"] = "draft-hepatectomy-" + patient.PatientId,
        ["status"] = "draft",
        ["intent"] = "order",
        ["code"] = new JsonObject
        {
            ["coding"] = new JsonArray(new JsonObject
            {
                ["system"] = "http://www.ama-assn.org/go/cpt",
                ["code"] = "47120",
                ["display"] = "Hepatectomy, resection of liver; partial lobectomy",
            }),
            ["text"] = "Liver resection (partial hepatectomy)",
        },
        ["subject"] = new JsonObject { ["reference"] = "Patient/" + patient.PatientId },
        ["occurrenceDateTime"] = DateTime.UtcNow.Date.AddDays(21).ToString("yyyy-MM-dd"),
        ["requester"] = new JsonObject { ["reference"] = UserId },
    };

    private async Task<HookResult> OrderSelectAsync(DemoPatient patient, JsonObject order, IReadOnlyDictionary<string, JsonObject> services, bool withPrefetch, CancellationToken cancellationToken)
    {
        var context = new JsonObject
        {
            ["userId"] = UserId,
            ["patientId"] = patient.PatientId,
            ["selections"] = new JsonArray($"{(string?)order["resourceType"]}/{(string?)order["id"]}"),
            ["draftOrders"] = new JsonObject
            {
                ["resourceType"] = "Bundle",
                ["type"] = "collection",
                ["entry"] = new JsonArray(new JsonObject { ["resource"] = order }),
            },
        };
        return await CallAsync(OrderSelectService, "order-select", patient, context, services, withPrefetch, cancellationToken);
    }

    private async Task<HookResult> CallAsync(string serviceId, string hook, DemoPatient patient, JsonObject context, IReadOnlyDictionary<string, JsonObject> services, bool withPrefetch, CancellationToken cancellationToken)
    {
        var hookInstance = Guid.NewGuid().ToString();
        var body = new JsonObject
        {
            ["hook"] = hook,
            ["hookInstance"] = hookInstance,
            ["fhirServer"] = fhirBase.ToString().TrimEnd('/'),
            ["fhirAuthorization"] = new JsonObject
            {
                ["access_token"] = fhirToken,
                ["token_type"] = "Bearer",
                ["expires_in"] = 300,
                ["scope"] = "patient/*.read patient/RiskAssessment.write patient/Provenance.write",
                ["subject"] = "cdsrisk-demo-ehr",
                ["patient"] = patient.PatientId,
            },
            ["context"] = context,
        };
        var prefetchKeys = 0;
        if (withPrefetch && services.TryGetValue(serviceId, out var description) && description["prefetch"] is JsonObject templates)
        {
            var prefetch = await PrefetchAsync(templates, patient.PatientId, cancellationToken);
            prefetchKeys = prefetch.Count;
            if (prefetch.Count > 0) body["prefetch"] = prefetch;
        }

        var url = new Uri(serviceBase, "/cds-services/" + serviceId);
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", signer.CreateToken(url));
        var clock = Stopwatch.StartNew();
        try
        {
            using var response = await service.SendAsync(request, cancellationToken);
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            var elapsed = clock.Elapsed;
            JsonNode? json = null;
            try
            {
                json = text.Length > 0 ? JsonNode.Parse(text) : null;
            }
            catch (JsonException)
            {
            }

            return new HookResult((int)response.StatusCode, elapsed, prefetchKeys, json, json is null ? Truncate(text) : null) { HookInstance = hookInstance };
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new HookResult(0, clock.Elapsed, prefetchKeys, null, ex.Message);
        }
    }

    /// <summary>
    /// Where the RiskAssessment write-back of one hook call stands, from the audit API (<c>GET /api/risk-assessments/{hookInstance}</c>,
    /// signed as an audit client): <c>pending</c>, <c>written</c>, <c>rejected</c> or <c>not-queued</c>; null when it cannot be read.
    /// </summary>
    public async Task<string?> WriteBackStateAsync(string hookInstance, CancellationToken cancellationToken)
    {
        var url = new Uri(serviceBase, "/api/risk-assessments/" + Uri.EscapeDataString(hookInstance));
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", signer.CreateToken(url));
        try
        {
            using var response = await service.SendAsync(request, cancellationToken);
            return response.IsSuccessStatusCode
                ? (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken))?["writeBack"]?["state"]
                : null;
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Fills the service's prefetch templates as an EHR would (CDS Hooks 2.0 §Prefetch tokens); a key whose
    /// template needs a token this context lacks is left out, so the service knows it must fetch it itself.</summary>
    private async Task<JsonObject> PrefetchAsync(JsonObject templates, string patientId, CancellationToken cancellationToken)
    {
        var tokens = new Dictionary<string, string>
        {
            ["{{context.patientId}}"] = patientId,
            ["{{context.userId}}"] = UserId,
            ["{{userPractitionerId}}"] = UserId.Split('/')[1],
        };
        var result = new JsonObject();
        foreach (var (key, value) in templates)
        {
            var query = (string?)value;
            if (query is null) continue;
            foreach (var (token, replacement) in tokens) query = query.Replace(token, Uri.EscapeDataString(replacement), StringComparison.Ordinal);
            if (query.Contains("{{", StringComparison.Ordinal)) continue;
            using var response = await fhir.GetAsync(new Uri(query.TrimStart('/'), UriKind.Relative), cancellationToken);
            if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                result[key] = null; // the spec's "no data exists"
            }
            else if (response.IsSuccessStatusCode)
            {
                result[key] = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            }
        }

        return result;
    }

    /// <summary>The RiskAssessments on the FHIR server for the patient, with their Provenance.</summary>
    public async Task<RiskAssessmentList> RiskAssessmentsAsync(string patientId, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await fhir.GetAsync(new Uri($"RiskAssessment?subject=Patient/{Uri.EscapeDataString(patientId)}&_revinclude=Provenance:target&_count=50", UriKind.Relative), cancellationToken);
            if (!response.IsSuccessStatusCode) return new RiskAssessmentList([], 0, $"search answered {(int)response.StatusCode}");
            var bundle = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            var resources = (bundle?["entry"] as JsonArray ?? []).Select(e => e?["resource"]).OfType<JsonObject>().ToList();
            return new RiskAssessmentList(
                resources.Where(r => (string?)r["resourceType"] == "RiskAssessment").ToList(),
                resources.Count(r => (string?)r["resourceType"] == "Provenance"),
                null);
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new RiskAssessmentList([], 0, ex.Message);
        }
    }

    public void Dispose()
    {
        service.Dispose();
        fhir.Dispose();
    }

    private static HttpClient CreateFhirClient(Uri fhirBase, string token)
    {
        var client = new HttpClient { BaseAddress = new Uri(fhirBase.ToString().TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/fhir+json"));
        return client;
    }

    private static string Truncate(string s) => s.Length > 300 ? s[..300] + "…" : s;
}

/// <summary>What one hook call returned.</summary>
public sealed record HookResult(int Status, TimeSpan Elapsed, int PrefetchKeys, JsonNode? Body, string? Problem)
{
    /// <summary>The call's hookInstance: also the id of its audit record.</summary>
    public string? HookInstance { get; init; }

    public bool Ok => Status == 200;

    /// <summary>The card kinds answered (<c>extension.cdsrisk.card</c>), in order.</summary>
    public IReadOnlyList<string> CardKinds => [.. Cards.Select(c => (string?)c["extension"]?["cdsrisk"]?["card"] ?? "?")];

    /// <summary>True when a card says its PRE model is not for clinical use (the reference model).</summary>
    public bool ReferenceModel => Cards.Any(c => (bool?)c["extension"]?["cdsrisk"]?["model"]?["notForClinicalUse"] == true);

    public IReadOnlyList<JsonObject> Cards => (Body?["cards"] as JsonArray ?? []).OfType<JsonObject>().ToList();

    /// <summary>The service answered "still working": a pending card, or a criterion still pending (the images are being read).</summary>
    public bool IsPending => Assessment is null
        ? Cards.Any(c => ((string?)c["summary"] ?? "").Contains("pending", StringComparison.OrdinalIgnoreCase))
        : (string?)Assessment["outcome"] == "pending"
          || (Assessment["criteria"] as JsonObject ?? []).Any(c => (string?)c.Value?["status"] == "pending"); // images still being read

    /// <summary>The first card's <c>cdsrisk</c> extension (outcome, preScore, model, criteria), if the service sent one.</summary>
    public JsonObject? Assessment => Cards.Select(c => c["extension"]?["cdsrisk"]).OfType<JsonObject>().FirstOrDefault();
}

/// <summary>The RiskAssessments found for a patient.</summary>
public sealed record RiskAssessmentList(IReadOnlyList<JsonObject> Items, int ProvenanceCount, string? Problem);
