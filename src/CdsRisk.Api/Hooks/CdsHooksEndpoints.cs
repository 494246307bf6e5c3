using CdsRisk.Api.Auth;
using CdsRisk.Api.Diagnostics;
using CdsRisk.Api.Pipeline;
using CdsRisk.Api.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CdsRisk.Api.Hooks;

/// <summary>The CDS Hooks 2.0 routes, exactly as the spec names them.</summary>
public static class CdsHooksEndpoints
{
    public const string Tag = "CDS Hooks";

    public static IEndpointRouteBuilder MapCdsHooks(this IEndpointRouteBuilder app)
    {
        var services = app.MapGroup("/cds-services").WithTags(Tag).RequireAuthorization(ClientPolicies.Cds);

        services.MapGet("", Discover)
            .WithName("Discovery")
            .WithSummary("List the CDS Services (CDS Hooks 2.0 §Discovery)")
            .WithDescription("The NCT07282184 services with their hooks and prefetch templates. Requires the CDS Client's JWT.")
            .ProducesProblem(StatusCodes.Status401Unauthorized);

        services.MapPost("/{id}", CallServiceAsync)
            .WithName("CallService")
            .WithSummary("Call a CDS Service (CDS Hooks 2.0 §Calling a CDS Service)")
            .WithDescription("Services: nct07282184-patient-view (patient-view), nct07282184-order-select (order-select), nct07282184-order-sign (order-sign). Loads the patient's data (prefetch first, missing keys fetched from fhirServer), screens for NCT07282184 and answers with cards carrying the `cdsrisk` extension; the cards refer potential candidates to the trial team for screening and never direct treatment. order-select / order-sign answer {\"cards\":[]} when no order of the call (order-select: the selections; order-sign: every draft order) is a liver resection or a regimen drug. 412 with an OperationOutcome when the Patient is missing and cannot be fetched.")
            .AddEndpointFilter<KnownServiceFilter>()
            .AddEndpointFilter<ValidationFilter<CdsServiceRequest>>()
            .Accepts<CdsServiceRequest>("application/json")
            .Produces<CdsServiceResponse>(StatusCodes.Status200OK, "application/json")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .Produces<Hl7OperationOutcome>(StatusCodes.Status412PreconditionFailed, "application/fhir+json");

        services.MapPost("/{id}/feedback", SaveFeedbackAsync)
            .WithName("Feedback")
            .WithSummary("Report what the user did with cards (CDS Hooks 2.0 §Feedback)")
            .WithDescription("Stored idempotently: the same feedback sent twice is kept once.")
            .AddEndpointFilter<KnownServiceFilter>()
            .AddEndpointFilter<ValidationFilter<FeedbackRequest>>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

        app.MapGet("/healthz", () => TypedResults.Ok("ok"))
            .WithName("Health")
            .WithSummary("Liveness probe")
            .WithTags("Operations")
            .AllowAnonymous();

        return app;
    }

    private static Ok<CdsServiceDiscovery> Discover() =>
        TypedResults.Ok(new CdsServiceDiscovery { Services = [.. CdsServiceCatalog.Services.Select(s => s.ToDiscovery())] });

    private static async Task<Ok<CdsServiceResponse>> CallServiceAsync(string id, CdsServiceRequest request, RiskPipeline pipeline, CancellationToken cancellationToken)
    {
        var service = CdsServiceCatalog.Find(id)!;
        if (!string.Equals(request.Hook, service.Hook, StringComparison.Ordinal))
        {
            throw new CdsRiskException(ErrorCodes.HookMismatch, $"Service '{service.Id}' answers the '{service.Hook}' hook.",
                new Dictionary<string, string[]> { ["hook"] = [$"must be '{service.Hook}' for this service."] });
        }

        return TypedResults.Ok(await pipeline.RunAsync(service, request, cancellationToken));
    }

    private static async Task<Ok> SaveFeedbackAsync(string id, FeedbackRequest request, IFeedbackStore store, TimeProvider time, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var stored = await store.SaveAsync(id, request.Feedback!, time.GetUtcNow(), cancellationToken);
        loggers.CreateLogger(typeof(CdsHooksEndpoints)).FeedbackStored(id, request.Feedback!.Count, stored);
        return TypedResults.Ok();
    }
}

/// <summary>Schema stand-in for the 412 body: a FHIR R4 OperationOutcome (application/fhir+json).</summary>
public sealed record Hl7OperationOutcome
{
    /// <summary>Always <c>OperationOutcome</c>.</summary>
    public string ResourceType { get; init; } = "OperationOutcome";

    public IReadOnlyList<Hl7OperationOutcomeIssue> Issue { get; init; } = [];
}

public sealed record Hl7OperationOutcomeIssue
{
    public required string Severity { get; init; }
    public required string Code { get; init; }
    public string? Diagnostics { get; init; }
}
