using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CdsRisk.IntegrationTests.TestServers;

namespace CdsRisk.IntegrationTests.EndToEnd;

/// <summary>Plays the EHR: hook requests with fhirServer + fhirAuthorization, as a real CDS Client sends them.</summary>
public static class HookCalls
{
    public const string PatientView = "/cds-services/nct07282184-patient-view";
    public const string OrderSelect = "/cds-services/nct07282184-order-select";

    public static JsonObject PatientViewRequest(TestEnvironment env, string patientId, Guid? hookInstance = null, JsonObject? prefetch = null)
    {
        var request = new JsonObject
        {
            ["hook"] = "patient-view",
            ["hookInstance"] = (hookInstance ?? Guid.NewGuid()).ToString(),
            ["fhirServer"] = env.FhirBaseUrl.AbsoluteUri.TrimEnd('/'),
            ["fhirAuthorization"] = new JsonObject
            {
                ["access_token"] = env.FhirToken,
                ["token_type"] = "Bearer",
                ["expires_in"] = 300,
                ["scope"] = "user/*.read user/RiskAssessment.write user/Provenance.write user/Device.write",
                ["subject"] = "cds-test-client",
            },
            ["context"] = new JsonObject { ["userId"] = "Practitioner/example", ["patientId"] = patientId },
        };
        if (prefetch is not null)
        {
            request["prefetch"] = prefetch;
        }

        return request;
    }

    /// <summary>An order-select call whose one selected draft order is <paramref name="order"/>.</summary>
    public static JsonObject OrderSelectRequest(TestEnvironment env, string patientId, JsonObject order)
    {
        var request = PatientViewRequest(env, patientId);
        request["hook"] = "order-select";
        request["context"]!["selections"] = new JsonArray($"{order["resourceType"]}/{order["id"]}");
        request["context"]!["draftOrders"] = new JsonObject
        {
            ["resourceType"] = "Bundle",
            ["type"] = "collection",
            ["entry"] = new JsonArray(new JsonObject { ["resource"] = order }),
        };
        return request;
    }

    /// <summary>A draft hepatectomy (CPT 47120), as the demo EHR orders it.</summary>
    public static JsonObject DraftHepatectomy(string patientId) => new()
    {
        ["resourceType"] = "ServiceRequest",
        ["id"] = "draft-hepatectomy-" + patientId,
        ["status"] = "draft",
        ["intent"] = "order",
        ["code"] = new JsonObject
        {
            ["coding"] = new JsonArray(new JsonObject { ["system"] = "http://www.ama-assn.org/go/cpt", ["code"] = "47120", ["display"] = "Hepatectomy, resection of liver; partial lobectomy" }),
            ["text"] = "Liver resection (partial hepatectomy)",
        },
        ["subject"] = new JsonObject { ["reference"] = "Patient/" + patientId },
    };

    public static async Task<(HttpStatusCode Status, JsonObject? Body)> PostAsync(HttpClient client, string path, JsonObject request)
    {
        using var response = await client.PostAsJsonAsync(new Uri(path, UriKind.Relative), request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text) as JsonObject);
    }

    /// <summary>The cdsrisk extension of the patient's assessment card (the first card that carries one).</summary>
    public static JsonObject Extension(JsonObject response) =>
        response["cards"]!.AsArray().Select(c => c!["extension"]?["cdsrisk"]).OfType<JsonObject>().First();

    /// <summary>Searches the FHIR server until <paramref name="until"/> holds or the time is up.</summary>
    public static async Task<JsonObject> WaitForSearchAsync(TestEnvironment env, string query, Func<JsonObject, bool> until, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var bundle = await env.GetFhirAsync(query);
            if (until(bundle) || DateTime.UtcNow > deadline)
            {
                return bundle;
            }

            await Task.Delay(250);
        }
    }

    public static int Total(JsonObject bundle) => bundle["entry"]?.AsArray().Count ?? 0;

    /// <summary>What an EHR would prefetch: each template the service's discovery document lists, resolved and run against the FHIR server.</summary>
    public static async Task<JsonObject> PrefetchAsync(TestEnvironment env, HttpClient service, string servicePath, string patientId)
    {
        var discovery = JsonNode.Parse(await service.GetStringAsync(new Uri("/cds-services", UriKind.Relative)))!;
        var id = servicePath.Split('/').Last();
        var templates = discovery["services"]!.AsArray().First(s => s!["id"]!.GetValue<string>() == id)!["prefetch"]!.AsObject();
        var prefetch = new JsonObject();
        foreach (var (key, template) in templates)
        {
            var query = template!.GetValue<string>().Replace("{{context.patientId}}", patientId, StringComparison.Ordinal);
            prefetch[key] = await env.GetFhirAsync(query);
        }

        return prefetch;
    }
}
