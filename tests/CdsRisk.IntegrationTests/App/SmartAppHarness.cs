using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CdsRisk.Api.Hooks;
using CdsRisk.Api.Pipeline;
using CdsRisk.Api.Storage;
using CdsRisk.IntegrationTests.EndToEnd;
using CdsRisk.IntegrationTests.TestServers;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;

namespace CdsRisk.IntegrationTests.App;

/// <summary>
/// The service with the SMART app configured for the test FHIR server, whose SMART double authorizes; helpers to launch like an EHR
/// and to store assessments of given patients.
/// </summary>
public sealed class SmartAppHarness : IDisposable
{
    public const string ClientId = "cdsrisk-app";
    public const string TrialTeamRole = "trial-team-member";
    private readonly string _secret = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
    private readonly TestEnvironment _env;

    public SmartAppHarness(TestEnvironment env, string baseUrl, bool kestrel = false, int port = 0, IReadOnlyDictionary<string, string?>? settings = null,
        string clientId = ClientId)
    {
        _env = env;
        BaseUrl = baseUrl;
        AppClientId = clientId;
        var configuration = new Dictionary<string, string?>
        {
            ["SmartApp:Ehrs:0:Issuer"] = env.FhirBaseUrl.AbsoluteUri,
            ["SmartApp:Ehrs:0:ClientId"] = clientId,
            ["SmartApp:Ehrs:0:ClientSecret"] = _secret,
            ["SmartApp:Ehrs:0:TrialTeamRoles:0"] = TrialTeamRole,
            ["Auth:PublicBaseUrl"] = baseUrl,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) configuration[key] = value;
        Factory = new ServiceFactory(env, configuration);
        if (kestrel)
        {
            Factory.UseKestrel(o => o.Listen(IPAddress.Loopback, port));
            Factory.StartServer();
        }
    }

    public ServiceFactory Factory { get; }

    /// <summary>The client id this app instance is registered under at the SMART double.</summary>
    public string AppClientId { get; }

    public string BaseUrl { get; }

    public string Issuer => _env.FhirBaseUrl.AbsoluteUri.TrimEnd('/');

    /// <summary>Registers the app at the SMART double: with its secret, or (given <paramref name="jwks"/>) with only its public keys.</summary>
    public async Task RegisterClientAsync(JsonObject? jwks = null)
    {
        var client = new JsonObject { ["client_id"] = AppClientId, ["redirect_uris"] = new JsonArray(BaseUrl + "/app/callback") };
        if (jwks is null) client["client_secret"] = _secret;
        else client["jwks"] = jwks;
        await AdminAsync("clients", client);
    }

    /// <summary>A JWKS (RFC 7517) with the public half of <paramref name="rsa"/> under <paramref name="kid"/>.</summary>
    public static JsonObject Jwks(System.Security.Cryptography.RSA rsa, string kid)
    {
        var p = rsa.ExportParameters(false);
        static string B64(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return new JsonObject { ["keys"] = new JsonArray(new JsonObject { ["kty"] = "RSA", ["kid"] = kid, ["alg"] = "RS384", ["n"] = B64(p.Modulus!), ["e"] = B64(p.Exponent!) }) };
    }

    /// <summary>How many tokens and introspections the SMART double answered for one launch.</summary>
    public async Task<(int Tokens, int Introspections)> StatsAsync(string launch)
    {
        var stats = await AdminAsync("stats", new JsonObject { ["launch"] = launch });
        return ((int)stats["tokens"]!, (int)stats["introspections"]!);
    }

    /// <summary>
    /// What the EHR does before it opens the card's smart link: a launch with the patient and the card's appContext.
    /// <paramref name="idToken"/> makes the double send a bad id_token (forged, expired, wrong-aud, wrong-nonce) or none.
    /// </summary>
    public async Task<string> CreateLaunchAsync(string patientId, string? assessment, string[]? roles = null, int tokenSeconds = 3600, string? idToken = null)
    {
        var body = new JsonObject
        {
            ["patient"] = patientId,
            ["user"] = new JsonObject { ["fhirUser"] = "Practitioner/dr-test", ["roles"] = new JsonArray([.. (roles ?? []).Select(r => (JsonNode)r)]) },
            ["tokenSeconds"] = tokenSeconds,
        };
        if (idToken is not null) body["idToken"] = idToken;
        if (assessment is not null) body["appContext"] = JsonSerializer.Serialize(new { assessment });
        return (string)(await AdminAsync("launch", body))["launch"]!;
    }

    public Task SetStandaloneUserAsync(params string[] roles) =>
        AdminAsync("user", new JsonObject { ["fhirUser"] = "Practitioner/trial-coordinator", ["roles"] = new JsonArray([.. roles.Select(r => (JsonNode)r)]) });

    public Task ExpireTokensAsync() => AdminAsync("expire", new JsonObject());

    public async Task<JsonObject> AdminAsync(string verb, JsonObject body)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, _env.FhirAdminUrl.AbsoluteUri.TrimEnd('/') + "/smart/" + verb)
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _env.FhirAdminToken);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonNode.Parse(text)!.AsObject();
    }

    /// <summary>Follows the authorization server's redirect (it approves at once) and returns the app callback URL it sends the browser to.</summary>
    public static async Task<Uri> AuthorizeAsync(Uri authorizeUrl)
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        using var response = await http.GetAsync(authorizeUrl);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        return response.Headers.Location!;
    }

    public async Task<string> CreatePatientAsync(string given, string family)
    {
        var patient = await _env.CreateFhirResourceAsync(new JsonObject
        {
            ["resourceType"] = "Patient",
            ["name"] = new JsonArray(new JsonObject { ["given"] = new JsonArray(given), ["family"] = family }),
            ["birthDate"] = "1961-04-02",
        });
        return (string)patient["id"]!;
    }

    /// <summary>Stores an assessment as the pipeline records one (the audit row and its detail), for the given patient on the test EHR.</summary>
    public async Task<string> StoreAssessmentAsync(string patientId, string outcome, double? pre, Dictionary<string, CriterionEntry> criteria, DateTimeOffset? at = null, string? fhirServer = null,
        string? studyUid = null, string? imagingStudy = null, IReadOnlyList<CdsRisk.Api.Scoring.PhaseSummary>? phases = null, FollowUpEntry? followUp = null)
    {
        var id = Guid.NewGuid().ToString();
        var detail = new AssessmentDetail
        {
            ServiceId = "nct07282184-patient-view",
            ProtocolVersion = "test",
            Summary = $"Test assessment: {outcome}",
            Criteria = criteria,
            PreStatus = pre is null ? "not-computed" : "computed",
            PreReason = pre is null ? "No MRI study in the window." : null,
            Cards = [new CardRecord(Guid.NewGuid().ToString(), outcome, CdsRisk.Core.Cards.CardIndicator.Info, outcome)],
            ImagingStudyReference = imagingStudy,
            Phases = phases ?? [],
            FollowUp = followUp,
        };
        var row = new AuditedAssessment(id, "Patient/" + patientId, fhirServer ?? _env.FhirBaseUrl.AbsoluteUri, "patient-view", id, at ?? DateTimeOffset.UtcNow,
            pre is null ? null : "pre-reference", pre is null ? null : "1.0.0", pre is null ? null : new string('a', 64), outcome, pre is null ? null : pre >= 0.5 ? "high" : "low", pre, studyUid,
            JsonSerializer.SerializeToUtf8Bytes(detail, AssessmentRecorder.Json), null);
        var store = Factory.Services.GetRequiredService<AssessmentAuditStore>();
        Assert.Equal(AuditInsert.Stored, await store.RecordAsync(row, CancellationToken.None));
        return id;
    }

    /// <summary>A four-phase study in Orthanc, its ImagingStudy on the EHR (contained dicom-wado-rs Endpoint), and an assessment recording its phases.</summary>
    public async Task<(string StudyUid, string ImagingStudy, string Assessment)> StoreAssessmentWithStudyAsync(string patient, string? imagingStudyOf = null)
    {
        var study = new CdsRisk.Dicom.Synthetic.SyntheticMrStudy { StudyInstanceUid = $"1.2.826.0.1.3680043.10.1437.18.{DateTime.UtcNow.Ticks % 1_000_000_000}.{Random.Shared.Next(1, 1_000_000)}", Slices = 9 };
        foreach (var instance in study.Instances()) await _env.UploadDicomAsync(instance);
        var imagingStudy = await _env.CreateFhirResourceAsync(new JsonObject
        {
            ["resourceType"] = "ImagingStudy",
            ["status"] = "available",
            ["subject"] = new JsonObject { ["reference"] = "Patient/" + (imagingStudyOf ?? patient) },
            ["identifier"] = new JsonArray(new JsonObject { ["system"] = "urn:dicom:uid", ["value"] = "urn:oid:" + study.StudyInstanceUid }),
            ["contained"] = new JsonArray(new JsonObject
            {
                ["resourceType"] = "Endpoint",
                ["id"] = "pacs",
                ["status"] = "active",
                ["connectionType"] = new JsonObject { ["system"] = "http://terminology.hl7.org/CodeSystem/endpoint-connection-type", ["code"] = "dicom-wado-rs" },
                ["payloadType"] = new JsonArray(new JsonObject { ["text"] = "DICOM" }),
                ["address"] = _env.DicomWebBaseUrl.AbsoluteUri.TrimEnd('/'),
            }),
            ["endpoint"] = new JsonArray(new JsonObject { ["reference"] = "#pacs" }),
        });
        var reference = "ImagingStudy/" + (string)imagingStudy["id"]!;
        var phases = new[] { "NonContrast", "Arterial", "PortalVenous", "Delayed" }.Select((p, i) => new CdsRisk.Api.Scoring.PhaseSummary(p, study.SeriesUid(i), "T1 " + p, null, study.Slices, "DescriptionKeyword", $"keyword in \"T1 {p}\"")).ToList();
        var id = await StoreAssessmentAsync(patient, "eligible", 0.8, SmartAppHarness.Criteria(("age", "pass", "ok", null, null)),
            studyUid: study.StudyInstanceUid, imagingStudy: reference, phases: phases);
        return (study.StudyInstanceUid, reference, id);
    }

    public static Dictionary<string, CriterionEntry> Criteria(params (string Id, string Status, string Reason, string? Evidence, string? ToRecord)[] items) =>
        items.ToDictionary(i => i.Id, i => new CriterionEntry
        {
            Status = Enum.GetValues<CdsRisk.Core.Eligibility.CriterionStatus>().Single(s => CdsRisk.Core.Eligibility.WireNames.ToWire(s) == i.Status),
            Reason = i.Reason,
            Evidence = i.Evidence is null ? [] : [new EvidenceEntry { Reference = i.Evidence, Description = i.Id + " record", Value = "recorded" }],
            ToRecord = i.ToRecord,
        });

    public static Dictionary<string, string?> Query(Uri url) =>
        QueryHelpers.ParseQuery(url.Query).ToDictionary(kv => kv.Key, kv => (string?)kv.Value.ToString());

    public void Dispose() => Factory.Dispose();
}
