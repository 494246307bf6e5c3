using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
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
    public required DateTimeOffset ReceivedAt { get; init; }

    /// <summary>
    /// SHA-256 (hex) of everything the call asks about — service, hook, context, fhirServer and every prefetch value — but not its
    /// hookInstance or token: two calls with the same value ask the same question. Null for calls that were not made over a hook
    /// (e.g. a scoring job submitted through the API).
    /// </summary>
    public string? ContentSha256 { get; init; }

    /// <summary>The resource type of <see cref="UserId"/> (<c>Practitioner</c>, <c>PractitionerRole</c>, …).</summary>
    public string UserType => UserId.Split('/', 2)[0];

    /// <summary>The bare id of <see cref="UserId"/>: <c>Practitioner/123</c> → <c>123</c> (cds-hooks/docs #520).</summary>
    public string UserLogicalId => UserId.Contains('/', StringComparison.Ordinal) ? UserId.Split('/', 2)[1] : UserId;

    /// <summary>Builds the invocation from a request that passed <see cref="CdsServiceRequestValidator"/>.</summary>
    /// <summary>
    /// A reading of one patient's record by the service itself (scoring jobs, the follow-up sweep): the patient-view service's
    /// prefetch, the service as user, the backend credential's token.
    /// </summary>
    public static HookInvocation BackendReading(CdsServiceDefinition service, string patientId, Uri fhirServer, string accessToken, string? scope, DateTimeOffset at) => new()
    {
        ServiceId = service.Id,
        Hook = service.Hook,
        HookInstance = Guid.NewGuid(),
        PatientId = patientId,
        UserId = "Device/cdsrisk",
        FhirServer = fhirServer,
        Authorization = new FhirAuthorization { AccessToken = accessToken, TokenType = "Bearer", Scope = scope },
        ReceivedAt = at,
    };

    public static HookInvocation From(CdsServiceDefinition service, CdsServiceRequest request, DateTimeOffset receivedAt) => new()
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
        ReceivedAt = receivedAt,
        ContentSha256 = ContentHash(service, request),
    };

    /// <summary>See <see cref="ContentSha256"/>. Each part is written with its length, so no two different calls hash alike by concatenation.</summary>
    public static string ContentHash(CdsServiceDefinition service, CdsServiceRequest request)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Text(string? value)
        {
            Span<byte> length = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(length, value is null ? -1 : Encoding.UTF8.GetByteCount(value));
            hash.AppendData(length);
            if (value is not null)
            {
                hash.AppendData(Encoding.UTF8.GetBytes(value));
            }
        }

        void Json(JsonElement? value)
        {
            // The bytes as sent: a value spelled differently is another question (and a cache miss), never a wrong answer.
            var raw = value is { ValueKind: not JsonValueKind.Null and not JsonValueKind.Undefined } v ? JsonMarshal.GetRawUtf8Value(v) : default;
            Span<byte> length = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(length, value is { ValueKind: not JsonValueKind.Null and not JsonValueKind.Undefined } ? raw.Length : -1);
            hash.AppendData(length);
            hash.AppendData(raw);
        }

        var context = request.Context!;
        Text(service.Id);
        Text(request.Hook);
        Text(request.FhirServer);
        Text(context.PatientId);
        Text(context.UserId);
        Text(context.EncounterId);
        Text(context.Selections is null ? null : string.Join('\n', context.Selections));
        Json(context.DraftOrders);
        if (request.Prefetch is { } prefetch)
        {
            foreach (var key in prefetch.Keys.Order(StringComparer.Ordinal))
            {
                Text(key);
                Json(prefetch[key]);
            }
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public override string ToString() => $"HookInvocation {{ ServiceId = {ServiceId}, Hook = {Hook}, HookInstance = {HookInstance} }}";
}
