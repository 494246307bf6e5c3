using System.ComponentModel.DataAnnotations;

namespace CdsRisk.Api.WriteBack;

/// <summary>Configuration section <c>WriteBack</c>.</summary>
public sealed class WriteBackOptions
{
    public const string Section = "WriteBack";

    /// <summary>
    /// <c>Direct</c>: the service writes Device + RiskAssessment + Provenance to the EHR's FHIR server (through the outbox);
    /// <c>SystemAction</c>: the hook response carries them as <c>systemActions</c> creates for EHRs that write themselves;
    /// <c>Both</c>.
    /// </summary>
    [RegularExpression("^(Direct|SystemAction|Both)$", ErrorMessage = "WriteBack:Mode must be Direct, SystemAction or Both.")]
    public string Mode { get; set; } = "Direct";

    public bool WritesDirectly => Mode is "Direct" or "Both";
    public bool ReturnsSystemActions => Mode is "SystemAction" or "Both";

    /// <summary>Seconds for one write attempt.</summary>
    [Range(1, 300)]
    public int TimeoutSeconds { get; set; } = 10;

    /// <summary>Seconds between looks at the outbox when nothing nudges it.</summary>
    [Range(1, 3600)]
    public int PollSeconds { get; set; } = 5;

    /// <summary>Backoff of failed attempts: first delay, doubled per attempt (with jitter), capped.</summary>
    [Range(1, 3600)]
    public int FirstRetrySeconds { get; set; } = 2;

    [Range(1, 86_400)]
    public int MaxRetrySeconds { get; set; } = 600;

    /// <summary>
    /// SMART Backend Services clients (client credentials with a private-key JWT), used when the hook's token cannot write
    /// (no write scope, or expired by the time the outbox retries). One per FHIR server.
    /// </summary>
    public List<BackendClientOptions> BackendClients { get; set; } = [];
}

public sealed class BackendClientOptions
{
    /// <summary>The FHIR base URL this client writes to (prefix match on the parsed URL).</summary>
    [Required]
    public string FhirServer { get; set; } = "";

    [Required]
    public string TokenUrl { get; set; } = "";

    [Required]
    public string ClientId { get; set; } = "";

    /// <summary>PEM of the RSA or EC private key registered with the EHR (or <see cref="PrivateKeyFile"/>).</summary>
    public string? PrivateKeyPem { get; set; }
    public string? PrivateKeyFile { get; set; }

    /// <summary>A fixed bearer token instead of the SMART flow: for test servers and development only.</summary>
    public string? AccessToken { get; set; }

    /// <summary>Key id published in the client's JWKS.</summary>
    public string? KeyId { get; set; }

    /// <summary>RS384 or ES384 (SMART Backend Services).</summary>
    public string Algorithm { get; set; } = "RS384";

    /// <summary>SMART v2 scopes the service needs to write its results.</summary>
    public string Scope { get; set; } = "system/Device.cr system/RiskAssessment.cr system/Provenance.cu";
}
