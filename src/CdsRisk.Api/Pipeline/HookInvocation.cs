using System.Text.Json;
using CdsRisk.Api.Hooks;

namespace CdsRisk.Api.Pipeline;

/// <summary>One validated hook call, as the pipeline stages see it. <see cref="Authorization"/> is transient and never logged.</summary>
public sealed record HookInvocation
{
    public required string ServiceId { get; init; }
    public required string Hook { get; init; }
    public required Guid HookInstance { get; init; }
    public required string PatientId { get; init; }

    /// <summary>As sent, e.g. <c>Practitioner/123</c>.</summary>
    public required string UserId { get; init; }
    public string? EncounterId { get; init; }
    public Uri? FhirServer { get; init; }
    public FhirAuthorization? Authorization { get; init; }
    public IReadOnlyList<string> Selections { get; init; } = [];
    public JsonElement? DraftOrders { get; init; }
    public DateTimeOffset ReceivedAt { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>The resource type of <see cref="UserId"/> (<c>Practitioner</c>, <c>PractitionerRole</c>, …).</summary>
    public string UserType => UserId.Split('/', 2)[0];

    /// <summary>The bare id of <see cref="UserId"/>: <c>Practitioner/123</c> → <c>123</c> (cds-hooks/docs #520).</summary>
    public string UserLogicalId => UserId.Contains('/', StringComparison.Ordinal) ? UserId.Split('/', 2)[1] : UserId;

    /// <summary>Builds the invocation from a request that passed <see cref="CdsServiceRequestValidator"/>.</summary>
    public static HookInvocation From(CdsServiceDefinition service, CdsServiceRequest request) => new()
    {
        ServiceId = service.Id,
        Hook = request.Hook!,
        HookInstance = Guid.Parse(request.HookInstance!),
        PatientId = request.Context!.PatientId!,
        UserId = request.Context.UserId!,
        EncounterId = request.Context.EncounterId,
        FhirServer = request.FhirServer is { Length: > 0 } server ? new Uri(server, UriKind.Absolute) : null,
        Authorization = request.FhirAuthorization,
        Selections = request.Context.Selections ?? [],
        DraftOrders = request.Context.DraftOrders,
    };

    public override string ToString() => $"HookInvocation {{ ServiceId = {ServiceId}, Hook = {Hook}, HookInstance = {HookInstance} }}";
}
