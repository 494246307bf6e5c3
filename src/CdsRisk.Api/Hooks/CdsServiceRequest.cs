using System.Text.Json;
using System.Text.Json.Serialization;

namespace CdsRisk.Api.Hooks;

/// <summary>The body of a hook call (CDS Hooks 2.0 §HTTP Request). Unknown members are ignored, as the spec requires.</summary>
public sealed record CdsServiceRequest
{
    /// <summary>The hook that triggered this call, e.g. <c>patient-view</c>.</summary>
    public string? Hook { get; init; }

    /// <summary>A UUID for this hook invocation.</summary>
    public string? HookInstance { get; init; }

    /// <summary>Base URL of the CDS Client's FHIR server; required when <c>fhirAuthorization</c> is present.</summary>
    public string? FhirServer { get; init; }

    /// <summary>OAuth 2.0 bearer token for <c>fhirServer</c>; transient, never stored or logged.</summary>
    public FhirAuthorization? FhirAuthorization { get; init; }

    /// <summary>Hook-specific context.</summary>
    public HookContext? Context { get; init; }

    /// <summary>Prefetched FHIR data keyed by the service's prefetch keys. A present key with <c>null</c> means "no data exists".</summary>
    public Dictionary<string, JsonElement?>? Prefetch { get; init; }

    /// <summary>Request extensions; accepted and ignored.</summary>
    public JsonElement? Extension { get; init; }

    /// <summary>Minimal API binding: the body read by <see cref="CdsServiceRequestReader"/>.</summary>
    public static ValueTask<CdsServiceRequest?> BindAsync(HttpContext context) => CdsServiceRequestReader.ReadAsync(context);
}

/// <summary>CDS Hooks 2.0 §FHIR Resource Access: the fhirAuthorization object (snake_case member names per the spec).</summary>
public sealed record FhirAuthorization
{
    [JsonPropertyName("access_token")]
    public string? AccessToken { get; init; }

    [JsonPropertyName("token_type")]
    public string? TokenType { get; init; }

    [JsonPropertyName("expires_in")]
    public long? ExpiresIn { get; init; }

    [JsonPropertyName("scope")]
    public string? Scope { get; init; }

    [JsonPropertyName("subject")]
    public string? Subject { get; init; }

    [JsonPropertyName("patient")]
    public string? Patient { get; init; }

    // Records print every member; the token must never reach a log line.
    public override string ToString() => $"FhirAuthorization {{ TokenType = {TokenType}, Scope = {Scope}, AccessToken = *** }}";
}

/// <summary>The union of the patient-view, order-select and order-sign contexts; the validator checks what each hook requires.</summary>
public sealed record HookContext
{
    /// <summary>The current user, e.g. <c>Practitioner/123</c>.</summary>
    public string? UserId { get; init; }

    /// <summary>FHIR Patient.id of the patient in context.</summary>
    public string? PatientId { get; init; }

    /// <summary>FHIR Encounter.id of the encounter in context (optional).</summary>
    public string? EncounterId { get; init; }

    /// <summary>order-select: ids (<c>Type/id</c>) of the newly selected orders in <c>draftOrders</c>.</summary>
    public IReadOnlyList<string>? Selections { get; init; }

    /// <summary>order-select and order-sign: a FHIR Bundle of the draft orders of this ordering session (order-sign: those being signed).</summary>
    public JsonElement? DraftOrders { get; init; }
}
