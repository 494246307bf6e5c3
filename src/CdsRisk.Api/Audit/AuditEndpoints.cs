using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using CdsRisk.Api.Auth;
using CdsRisk.Api.Hooks;
using CdsRisk.Api.Pipeline;
using CdsRisk.Api.Storage;
using CdsRisk.Api.WriteBack;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace CdsRisk.Api.Audit;

/// <summary>One assessment in a list.</summary>
public sealed record AssessmentSummary
{
    /// <summary>The hook instance that made the assessment; for a row of the follow-up sweep, an id of its own.</summary>
    public required string Id { get; init; }
    public required string Patient { get; init; }

    /// <summary>The CDS hook that made the assessment, or <c>follow-up-sweep</c> for a row of the periodic follow-up sweep (issue 17).</summary>
    public required string Hook { get; init; }

    /// <summary>For a row of the follow-up sweep: the sweep run (<c>GET /api/follow-up/sweep</c>) that recorded it.</summary>
    public string? SweepRun { get; init; }
    public required DateTimeOffset AssessedAt { get; init; }
    public required string Outcome { get; init; }
    public double? PreScore { get; init; }
    /// <summary><c>high</c> or <c>low</c>, when there is a score.</summary>
    public string? Risk { get; init; }
    public ModelReference? Model { get; init; }
    public string? StudyInstanceUid { get; init; }
    /// <summary>Identifier value (system https://cdsrisk.example.org/fhir/risk-assessment-id) of the RiskAssessment written for the score.</summary>
    public string? RiskAssessmentIdentifier { get; init; }
}

/// <summary>A page of assessments, newest first.</summary>
public sealed record AssessmentList([property: AlwaysWrite] IReadOnlyList<AssessmentSummary> Items, int Limit, int Offset);

/// <summary>Feedback a clinician gave on one of the assessment's cards.</summary>
public sealed record FeedbackRecord(string Card, string Outcome, DateTimeOffset OutcomeTimestamp, IReadOnlyList<string> AcceptedSuggestions, Hooks.Coding? OverrideReason, string? OverrideComment);

/// <summary>Where the RiskAssessment write-back stands.</summary>
public sealed record WriteBackState
{
    /// <summary><c>pending</c> (waiting or retrying), <c>written</c>, <c>rejected</c> (refused for good), <c>dropped</c> (nothing to write: the MRI could not be scored), or <c>not-queued</c> (no score, or written by the EHR through system actions).</summary>
    public required WriteBackStatus State { get; init; }
    public int Attempts { get; init; }
    public string? LastError { get; init; }
    public DateTimeOffset? NextAttempt { get; init; }
    /// <summary>The RiskAssessment's id on the FHIR server (<c>RiskAssessment/{id}</c>) once written.</summary>
    public string? FhirId { get; init; }
    public string? FhirServer { get; init; }
}

/// <summary>One assessment in full: inputs (references and values, no images), model, cards, feedback and write-back.</summary>
public sealed record AssessmentRecordView
{
    public required AssessmentSummary Assessment { get; init; }
    public required AssessmentDetail Detail { get; init; }
    public required IReadOnlyList<FeedbackRecord> Feedback { get; init; }
    public required WriteBackState WriteBack { get; init; }
}

/// <summary>
/// The audit list's query. The parameters are bound as text and checked by <see cref="AssessmentListQueryValidator"/>, so that a
/// value that does not parse is a validation problem naming its parameter (CDSR-1002), not a binding failure of the framework.
/// </summary>
public sealed record AssessmentListQuery
{
    public static readonly IReadOnlySet<string> Outcomes = new HashSet<string>(StringComparer.Ordinal)
        { "eligible", "ineligible", "needs-data", "pending", "low-risk", "not-assessed", "on-study" };

    [FromQuery(Name = "patient"), Description("Patient id or Patient/{id}")]
    public string? Patient { get; init; }

    [FromQuery(Name = "from"), Description("Assessed at or after (ISO 8601 date-time, e.g. 2026-11-27T10:00:00Z)")]
    public string? From { get; init; }

    [FromQuery(Name = "to"), Description("Assessed at or before (ISO 8601 date-time)")]
    public string? To { get; init; }

    [FromQuery(Name = "model"), Description("Model id, id|version, or SHA-256")]
    public string? Model { get; init; }

    [FromQuery(Name = "outcome"), Description("eligible, ineligible, needs-data, pending, low-risk, not-assessed or on-study")]
    public string? Outcome { get; init; }

    [FromQuery(Name = "risk"), Description("high or low")]
    public string? Risk { get; init; }

    [FromQuery(Name = "limit"), Description("Page size, 1 to 500 (default 50)")]
    public string? Limit { get; init; }

    [FromQuery(Name = "offset"), Description("Items to skip (default 0)")]
    public string? Offset { get; init; }

    internal int PageSize => Whole(Limit) ?? 50;

    internal int Skip => Whole(Offset) ?? 0;

    internal AuditQuery ToAuditQuery() => new(Patient, Instant(From), Instant(To), Model, Outcome, Risk, PageSize, Skip);

    internal static DateTimeOffset? Instant(string? value) =>
        DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out var instant)
            ? instant : null;

    internal static int? Whole(string? value) =>
        int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) ? number : null;
}

public sealed class AssessmentListQueryValidator : AbstractValidator<AssessmentListQuery>
{
    public AssessmentListQueryValidator()
    {
        RuleFor(q => q.From).Must(v => AssessmentListQuery.Instant(v) is not null).When(q => q.From is not null)
            .WithMessage("from must be an ISO 8601 date-time such as 2026-11-27T10:00:00Z.");
        RuleFor(q => q.To).Must(v => AssessmentListQuery.Instant(v) is not null).When(q => q.To is not null)
            .WithMessage("to must be an ISO 8601 date-time such as 2026-11-27T10:00:00Z.");
        RuleFor(q => q.From).Must((q, _) => !(AssessmentListQuery.Instant(q.From) is { } f && AssessmentListQuery.Instant(q.To) is { } t && f > t))
            .WithMessage("from must not be after to.");
        RuleFor(q => q.Limit).Must(v => AssessmentListQuery.Whole(v) is >= 1 and <= 500).When(q => q.Limit is not null)
            .WithMessage("limit must be a whole number between 1 and 500.");
        RuleFor(q => q.Offset).Must(v => AssessmentListQuery.Whole(v) is >= 0).When(q => q.Offset is not null)
            .WithMessage("offset must be a whole number, not negative.");
        RuleFor(q => q.Outcome).Must(v => AssessmentListQuery.Outcomes.Contains(v!)).When(q => q.Outcome is not null)
            .WithMessage("outcome must be eligible, ineligible, needs-data, pending, low-risk, not-assessed or on-study.");
        RuleFor(q => q.Risk).Must(v => v is "high" or "low").When(q => q.Risk is not null)
            .WithMessage("risk must be high or low.");
    }
}

public static class AuditEndpoints
{
    public const string Tag = "Audit";

    public static IEndpointRouteBuilder MapAudit(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/risk-assessments").WithTags(Tag).RequireAuthorization(ClientPolicies.Audit);
        group.MapGet("", ListAsync)
            .AddEndpointFilter<ValidationFilter<AssessmentListQuery>>()
            .WithName("ListRiskAssessments")
            .WithSummary("List assessments, newest first, filtered by patient, date range, model, outcome and risk")
            .WithDescription("Requires a JWT from a client in Audit:Clients with aud = the URL called.")
            .ProducesValidationProblem()
            .Produces(StatusCodes.Status401Unauthorized);
        group.MapGet("/{id}", GetAsync)
            .WithName("GetRiskAssessment")
            .WithSummary("One assessment with its inputs, model hash, cards, feedback and write-back state")
            .Produces(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<Ok<AssessmentList>> ListAsync([AsParameters] AssessmentListQuery query, AssessmentAuditStore store, CancellationToken cancellationToken)
    {
        var rows = await store.QueryAsync(query.ToAuditQuery(), cancellationToken);
        return TypedResults.Ok(new AssessmentList([.. rows.Select(Summary)], query.PageSize, query.Skip));
    }

    private static async Task<Ok<AssessmentRecordView>> GetAsync(string id, AssessmentAuditStore store, IFeedbackStore feedback, OutboxStore outbox,
        CancellationToken cancellationToken)
    {
        var row = await store.GetAsync(id, cancellationToken)
            ?? throw new CdsRiskException(ApiErrorCodes.UnknownAssessment, "No assessment with this id; GET /api/risk-assessments lists them.");
        return TypedResults.Ok(await ViewAsync(row, feedback, outbox, cancellationToken));
    }

    /// <summary>One stored assessment with its feedback and write-back state (the audit API and the SMART app show the same).</summary>
    public static async Task<AssessmentRecordView> ViewAsync(AuditedAssessment row, IFeedbackStore feedback, OutboxStore outbox, CancellationToken cancellationToken)
    {
        var detail = JsonSerializer.Deserialize<AssessmentDetail>(row.DetailJson, AssessmentRecorder.Json)!;
        var received = new List<FeedbackRecord>();
        foreach (var card in detail.Cards)
        {
            received.AddRange((await feedback.ListForCardAsync(card.Uuid, cancellationToken))
                .Select(f => new FeedbackRecord(f.CardUuid, f.Outcome, f.OutcomeTimestamp, f.AcceptedSuggestions, f.OverrideReason, f.OverrideComment)));
        }

        var item = row.OutboxId is null ? null : await outbox.GetAsync(row.OutboxId, cancellationToken);
        var writeBack = item is null
            ? new WriteBackState { State = WriteBackStatus.NotQueued }
            : new WriteBackState
            {
                State = WriteBackStatuses.Of(item.State),
                Attempts = item.Attempts,
                LastError = item.LastError,
                NextAttempt = item.State == OutboxState.Pending ? item.NextAttempt : null,
                FhirId = item.ResultLocation,
                FhirServer = item.FhirServer,
            };
        return new AssessmentRecordView { Assessment = Summary(row), Detail = detail, Feedback = received, WriteBack = writeBack };
    }

    public static AssessmentSummary Summary(AuditedAssessment row) => new()
    {
        Id = row.Id,
        Patient = row.PatientRef,
        Hook = row.Hook,
        SweepRun = row.Hook == FollowUp.FollowUpSweeper.AuditOrigin ? row.HookInstance : null,
        AssessedAt = row.AssessedAt,
        Outcome = row.Outcome,
        PreScore = row.PreScore,
        Risk = row.Risk,
        Model = row.ModelId is null ? null : new ModelReference { Id = row.ModelId, Version = row.ModelVersion ?? "", Sha256 = row.ModelSha256 ?? "" },
        StudyInstanceUid = row.StudyUid,
        RiskAssessmentIdentifier = row.OutboxId,
    };
}
