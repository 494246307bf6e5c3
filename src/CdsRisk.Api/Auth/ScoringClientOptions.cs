using CdsRisk.Api.Fhir;
using CdsRisk.Api.WriteBack;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Auth;

/// <summary>Configuration <c>Scoring:Clients</c>: who may ask for pre-computation (<c>POST /api/scoring-jobs</c>).</summary>
public sealed class ScoringClientsOptions
{
    public const string Section = "Scoring";

    public List<ScoringClientOptions> Clients { get; set; } = [];
}

/// <summary>
/// A client allowed to have patients of ONE FHIR server scored, read and written with ONE backend credential (no confused deputy:
/// it cannot name another server or credential). It signs JWTs like a CDS Client (<see cref="TrustedClientOptions.Issuer"/> and a key
/// source) or, for a PACS that cannot sign (Orthanc's Lua callbacks set headers only), sends a static API key configured here as
/// its SHA-256 only (<see cref="ApiKeySha256"/>).
/// </summary>
public sealed class ScoringClientOptions : TrustedClientOptions
{
    /// <summary>A name for logs and the audit trail (e.g. <c>orthanc-main</c>).</summary>
    public string? Name { get; set; }

    /// <summary>Lower-case hex SHA-256 of the UTF-8 API key the client sends as <c>Authorization: ApiKey &lt;key&gt;</c>.</summary>
    public string? ApiKeySha256 { get; set; }

    /// <summary>The one FHIR base URL this client's jobs read from and write to (on <c>Fhir:AllowedServers</c>).</summary>
    public string? FhirServer { get; set; }

    /// <summary>ClientId of the <c>WriteBack:BackendClients</c> entry its jobs read and write with (configured for <see cref="FhirServer"/>).</summary>
    public string? Credential { get; set; }

    /// <summary>
    /// The FHIR identifier system under which this client's DICOM PatientIDs are recorded on its FHIR server (e.g. the hospital's MRN
    /// system), for the PACS form of a request (<c>dicomPatientId</c>): the patient is <c>Patient?identifier=&lt;system&gt;|&lt;PatientID&gt;</c>.
    /// </summary>
    public string? PatientIdentifierSystem { get; set; }

    public Uri FhirServerBase => new(FhirServer!.TrimEnd('/') + "/");

    public byte[]? ApiKeyHash => string.IsNullOrEmpty(ApiKeySha256) ? null : Convert.FromHexString(ApiKeySha256);
}

internal sealed class ScoringClientsOptionsValidator(IOptions<FhirOptions> fhir, IOptions<WriteBackOptions> writeBack) : IValidateOptions<ScoringClientsOptions>
{
    public ValidateOptionsResult Validate(string? name, ScoringClientsOptions options)
    {
        var failures = new List<string>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var issuers = new HashSet<string>(StringComparer.Ordinal);
        var allowed = fhir.Value.AllowedServers.Where(s => AllowedBaseUrl.TryCreate(s, out _)).ToList();
        for (var i = 0; i < options.Clients.Count; i++)
        {
            var client = options.Clients[i];
            var key = $"Scoring:Clients:{i}";
            if (string.IsNullOrWhiteSpace(client.Name))
            {
                failures.Add($"{key}:Name is required.");
            }
            else if (!names.Add(client.Name))
            {
                failures.Add($"{key}:Name repeats an earlier client's name.");
            }

            var hasJwt = !string.IsNullOrEmpty(client.Issuer);
            var hasKey = !string.IsNullOrEmpty(client.ApiKeySha256);
            if (hasJwt == hasKey)
            {
                failures.Add($"{key} needs exactly one of Issuer (signed JWTs) or ApiKeySha256 (a static API key).");
            }
            else if (hasJwt)
            {
                client.Validate(key, failures);
                if (!issuers.Add(client.Issuer!))
                {
                    failures.Add($"{key}:Issuer repeats an earlier client's issuer; give each issuer one entry.");
                }
            }
            else if (client.ApiKeySha256!.Length != 64 || !client.ApiKeySha256.All(char.IsAsciiHexDigit))
            {
                failures.Add($"{key}:ApiKeySha256 must be the SHA-256 of the key as 64 hex digits (e.g. printf %s \"$KEY\" | sha256sum).");
            }
            else if (!string.IsNullOrEmpty(client.JwksUrl) || !string.IsNullOrEmpty(client.Jwks) || !string.IsNullOrEmpty(client.JwksFile) || client.AllowedJku.Count > 0)
            {
                failures.Add($"{key}: an API-key client has no JWT keys; remove JwksUrl, Jwks, JwksFile and AllowedJku.");
            }

            if (client.PatientIdentifierSystem is { } system && !Uri.TryCreate(system, UriKind.Absolute, out _))
            {
                failures.Add($"{key}:PatientIdentifierSystem must be an absolute URI (the FHIR identifier system of the DICOM PatientIDs, e.g. urn:oid:… or https://…).");
            }

            if (!AllowedBaseUrl.TryCreate(client.FhirServer, out _))
            {
                failures.Add($"{key}:FhirServer must be the absolute http(s) FHIR base URL this client's jobs use.");
                continue;
            }

            if (!AllowedBaseUrls.Parse(allowed).Admits(client.FhirServerBase))
            {
                failures.Add($"{key}:FhirServer is not on Fhir:AllowedServers.");
            }

            if (string.IsNullOrWhiteSpace(client.Credential))
            {
                failures.Add($"{key}:Credential is required: the ClientId of the WriteBack:BackendClients entry its jobs read and write with.");
            }
            else if (!writeBack.Value.BackendClients.Any(c => c.ClientId == client.Credential
                && AllowedBaseUrl.TryCreate(c.FhirServer, out var server) && server!.Admits(client.FhirServerBase)))
            {
                failures.Add($"{key}:Credential names no WriteBack:BackendClients entry with that ClientId for {key}:FhirServer.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
