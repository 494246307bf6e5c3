using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace CdsRisk.IntegrationTests.Hooks;

/// <summary>Builders for hook requests and canned FHIR data (synthetic patient p1).</summary>
public static class HookRequests
{
    public const string PatientViewPath = "/cds-services/nct07282184-patient-view";
    public const string OrderSelectPath = "/cds-services/nct07282184-order-select";
    public const string HookInstance = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea";

    public static readonly string[] AllKeys =
    [
        "patient", "conditions", "labs", "clinical-observations", "allergies", "medication-statements", "medication-requests",
        "procedures", "service-requests", "appointments", "mr-imaging-studies", "research-subjects", "medication-administrations",
    ];

    public static JsonObject Patient(string id = "p1") => new()
    {
        ["resourceType"] = "Patient",
        ["id"] = id,
        ["gender"] = "male",
        ["birthDate"] = "1964-03-02",
    };

    public static JsonObject Condition(string id = "hcc-1") => new()
    {
        ["resourceType"] = "Condition",
        ["id"] = id,
        ["clinicalStatus"] = Concept("http://terminology.hl7.org/CodeSystem/condition-clinical", "active"),
        ["verificationStatus"] = Concept("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed"),
        ["code"] = Concept("http://snomed.info/sct", "109841003"),
        ["subject"] = new JsonObject { ["reference"] = "Patient/p1" },
    };

    public static JsonObject Observation(string id, string loinc, decimal value, string unit) => new()
    {
        ["resourceType"] = "Observation",
        ["id"] = id,
        ["status"] = "final",
        ["code"] = Concept("http://loinc.org", loinc),
        ["subject"] = new JsonObject { ["reference"] = "Patient/p1" },
        ["effectiveDateTime"] = "2026-11-20",
        ["valueQuantity"] = new JsonObject { ["value"] = value, ["unit"] = unit, ["system"] = "http://unitsofmeasure.org", ["code"] = unit },
    };

    public static JsonObject Searchset(params JsonObject[] resources) => Searchset(null, resources);

    public static JsonObject Searchset(string? nextUrl, params JsonObject[] resources)
    {
        var bundle = new JsonObject
        {
            ["resourceType"] = "Bundle",
            ["type"] = "searchset",
            ["entry"] = new JsonArray([.. resources.Select(r => (JsonNode)new JsonObject { ["resource"] = r, ["search"] = new JsonObject { ["mode"] = "match" } })]),
        };
        if (nextUrl is not null)
        {
            bundle["link"] = new JsonArray(new JsonObject { ["relation"] = "next", ["url"] = nextUrl });
        }

        return bundle;
    }

    public static JsonObject OperationOutcome() => new()
    {
        ["resourceType"] = "OperationOutcome",
        ["issue"] = new JsonArray(new JsonObject { ["severity"] = "error", ["code"] = "timeout", ["diagnostics"] = "prefetch query timed out" }),
    };

    /// <summary>Every prefetch key filled: data where the trial needs it, empty searchsets elsewhere.</summary>
    public static JsonObject FullPrefetch() => new()
    {
        ["patient"] = Patient(),
        ["conditions"] = Searchset(Condition()),
        ["labs"] = Searchset(Observation("afp-1", "1834-1", 120m, "ng/mL"), Observation("alb-1", "1751-7", 4.1m, "g/dL")),
        ["clinical-observations"] = Searchset(),
        ["allergies"] = Searchset(),
        ["medication-statements"] = Searchset(),
        ["medication-requests"] = Searchset(),
        ["procedures"] = Searchset(),
        ["service-requests"] = Searchset(),
        ["appointments"] = Searchset(),
        ["mr-imaging-studies"] = Searchset(),
        ["research-subjects"] = Searchset(),
        ["medication-administrations"] = Searchset(),
    };

    public static JsonObject PatientView(JsonObject? prefetch = null, string? fhirServer = null)
    {
        var request = new JsonObject
        {
            ["hook"] = "patient-view",
            ["hookInstance"] = HookInstance,
            ["context"] = new JsonObject { ["userId"] = "Practitioner/123", ["patientId"] = "p1" },
        };
        if (fhirServer is not null)
        {
            request["fhirServer"] = fhirServer;
        }

        if (prefetch is not null)
        {
            request["prefetch"] = prefetch;
        }

        return request;
    }

    public static StringContent Json(JsonNode body) => Json(body.ToJsonString());

    public static StringContent Json(string body) => new(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));

    private static JsonObject Concept(string system, string code) =>
        new() { ["coding"] = new JsonArray(new JsonObject { ["system"] = system, ["code"] = code }) };
}
