using System.Text.Json;
using System.Text.RegularExpressions;
using FluentValidation;
using FluentValidation.Results;

namespace CdsRisk.Api.Hooks;

/// <summary>CDS Hooks 2.0 §HTTP Request and the patient-view / order-select / order-sign context tables.</summary>
public sealed partial class CdsServiceRequestValidator : AbstractValidator<CdsServiceRequest>
{
    public CdsServiceRequestValidator()
    {
        RuleFor(r => r.Hook).NotEmpty().WithMessage("hook is required.");

        RuleFor(r => r.HookInstance)
            .NotEmpty().WithMessage("hookInstance is required.")
            .Must(BeUuid).When(r => !string.IsNullOrEmpty(r.HookInstance), ApplyConditionTo.CurrentValidator).WithMessage("hookInstance must be a UUID.");

        RuleFor(r => r.FhirServer)
            .Must(BeHttpUrl).When(r => r.FhirServer is not null, ApplyConditionTo.CurrentValidator).WithMessage("fhirServer must be an absolute http(s) URL.");

        // cds-r-1: fhirAuthorization implies fhirServer.
        RuleFor(r => r.FhirServer)
            .NotEmpty().When(r => r.FhirAuthorization is not null, ApplyConditionTo.CurrentValidator).WithMessage("fhirServer is required when fhirAuthorization is present.");

        When(r => r.FhirAuthorization is not null, () =>
        {
            RuleFor(r => r.FhirAuthorization!.AccessToken).NotEmpty().OverridePropertyName("fhirAuthorization.access_token")
                .WithMessage("access_token is required.");
            RuleFor(r => r.FhirAuthorization!.TokenType).Equal("Bearer").OverridePropertyName("fhirAuthorization.token_type")
                .WithMessage("token_type must be \"Bearer\".");
            RuleFor(r => r.FhirAuthorization!.ExpiresIn).NotNull().GreaterThan(0).OverridePropertyName("fhirAuthorization.expires_in")
                .WithMessage("expires_in must be a positive number of seconds.");
            RuleFor(r => r.FhirAuthorization!.Scope).NotEmpty().OverridePropertyName("fhirAuthorization.scope")
                .WithMessage("scope is required.");
            RuleFor(r => r.FhirAuthorization!.Subject).NotEmpty().OverridePropertyName("fhirAuthorization.subject")
                .WithMessage("subject is required.");
        });

        RuleFor(r => r.Context).NotNull().WithMessage("context is required.");

        When(r => r.Context is not null, () =>
        {
            RuleFor(r => r.Context!.UserId)
                .NotEmpty().WithMessage("context.userId is required.")
                .Must(BeUserReference).When(r => !string.IsNullOrEmpty(r.Context!.UserId), ApplyConditionTo.CurrentValidator)
                .WithMessage("context.userId must be a reference like Practitioner/123 (Practitioner, PractitionerRole, Patient or RelatedPerson).");
            RuleFor(r => r.Context!.PatientId)
                .NotEmpty().WithMessage("context.patientId is required.")
                .Must(BeFhirId).When(r => !string.IsNullOrEmpty(r.Context!.PatientId), ApplyConditionTo.CurrentValidator).WithMessage("context.patientId must be a FHIR id (A-Z a-z 0-9 - ., at most 64).");
            RuleFor(r => r.Context!.EncounterId)
                .Must(BeFhirId).When(r => r.Context!.EncounterId is not null, ApplyConditionTo.CurrentValidator).WithMessage("context.encounterId must be a FHIR id.");

            When(r => r.Hook == CdsServiceCatalog.OrderSelectHook, () =>
            {
                RuleFor(r => r.Context!.Selections).NotEmpty().WithMessage("context.selections is required for order-select.");
                RuleForEach(r => r.Context!.Selections).Must(s => s is not null && BeTypedReference(s)).WithMessage("Each selection must be Type/id.");
                RuleFor(r => r.Context!.DraftOrders)
                    .Must(BeBundle).WithMessage("context.draftOrders must be a FHIR Bundle.");
                RuleFor(r => r.Context!)
                    .Must(SelectionsAreInDraftOrders).When(r => r.Context!.Selections is { Count: > 0 } && BeBundle(r.Context.DraftOrders), ApplyConditionTo.CurrentValidator)
                    .OverridePropertyName("context.selections").WithMessage("Every selection must name an entry of context.draftOrders.");
            });

            // order-sign (CDS Hooks 2.0 hook order-sign, v1.1): userId, patientId, encounterId (optional) and draftOrders; no
            // selections: every draft order is being signed. What the orders hold is read leniently; only the Bundle is required.
            When(r => r.Hook == CdsServiceCatalog.OrderSignHook, () =>
            {
                RuleFor(r => r.Context!.DraftOrders)
                    .Must(BeBundle).WithMessage("context.draftOrders must be a FHIR Bundle.");
            });
        });

        RuleFor(r => r.Prefetch).Custom((prefetch, ctx) =>
        {
            foreach (var (key, value) in prefetch ?? [])
            {
                if (value is { } v && !IsResourceShaped(v))
                {
                    ctx.AddFailure(new ValidationFailure("prefetch." + key, "A prefetch value must be a FHIR resource (an object with resourceType) or null."));
                }
            }
        });
    }

    private static bool BeUuid(string? value) => Guid.TryParseExact(value, "D", out _);

    private static bool BeHttpUrl(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp) && string.IsNullOrEmpty(uri.UserInfo);

    private static bool BeFhirId(string? value) => value is not null && FhirId().IsMatch(value);

    private static bool BeUserReference(string? value) => value is not null && UserReference().IsMatch(value);

    private static bool BeTypedReference(string value) => TypedReference().IsMatch(value);

    private static bool BeBundle(JsonElement? value) =>
        value is { ValueKind: JsonValueKind.Object } v && v.TryGetProperty("resourceType", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == "Bundle";

    private static bool IsResourceShaped(JsonElement value) =>
        value.ValueKind == JsonValueKind.Null
        || (value.ValueKind == JsonValueKind.Object && value.TryGetProperty("resourceType", out var t) && t.ValueKind == JsonValueKind.String && t.GetString()!.Length > 0);

    private static bool SelectionsAreInDraftOrders(HookContext context)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        if (context.DraftOrders!.Value.TryGetProperty("entry", out var entries) && entries.ValueKind == JsonValueKind.Array)
        {
            foreach (var entry in entries.EnumerateArray())
            {
                if (entry.ValueKind == JsonValueKind.Object && entry.TryGetProperty("resource", out var resource) && resource.ValueKind == JsonValueKind.Object
                    && resource.TryGetProperty("resourceType", out var type) && type.ValueKind == JsonValueKind.String
                    && resource.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String)
                {
                    ids.Add($"{type.GetString()}/{id.GetString()}");
                }
            }
        }

        return context.Selections!.All(s => s is not null && ids.Contains(s));
    }

    [GeneratedRegex(@"^[A-Za-z0-9\-\.]{1,64}$")]
    private static partial Regex FhirId();

    [GeneratedRegex(@"^(Practitioner|PractitionerRole|Patient|RelatedPerson)/[A-Za-z0-9\-\.]{1,64}$")]
    private static partial Regex UserReference();

    [GeneratedRegex(@"^[A-Z][A-Za-z]{1,63}/[A-Za-z0-9\-\.]{1,64}$")]
    private static partial Regex TypedReference();
}
