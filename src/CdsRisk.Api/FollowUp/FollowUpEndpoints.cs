using System.ComponentModel;
using System.Text;
using System.Text.Json;
using CdsRisk.Api.Auth;
using CdsRisk.Api.Hooks;
using CdsRisk.Api.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.FollowUp;

public static class FollowUpEndpoints
{
    public const string Tag = "Follow-up";

    /// <summary>The trial team's worklist and the sweep that feeds it; audit clients only (the same data as the audit API).</summary>
    public static IEndpointRouteBuilder MapFollowUp(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/follow-up").WithTags(Tag).RequireAuthorization(ClientPolicies.Audit);
        group.MapGet("", ListAsync)
            .WithName("ListFollowUp")
            .WithSummary("The trial team's worklist: on-study patients with their next due and overdue items and open safety signals")
            .WithDescription("As read by the last follow-up sweep (FollowUp:SweepMinutes) from the FHIR servers with a backend credential. Overdue first, then by next due date. format=csv gives the same rows as CSV (RFC 4180). Requires a JWT from a client in Audit:Clients with aud = the URL called.")
            .Produces<FollowUpWorklist>(StatusCodes.Status200OK, "application/json", WorklistCsv.MediaType)
            .ProducesValidationProblem()
            .Produces(StatusCodes.Status401Unauthorized);
        group.MapGet("/sweep", SweepAsync)
            .WithName("GetFollowUpSweep")
            .WithSummary("The follow-up sweep: its period, its last run, counts and failures")
            .Produces(StatusCodes.Status401Unauthorized);
        return app;
    }

    private static async Task<Results<Ok<FollowUpWorklist>, FileContentHttpResult, ValidationProblem>> ListAsync(
        FollowUpStore store,
        HttpContext http,
        [Description("overdue, due, upcoming, complete, or signal (open safety signals)")] string? status,
        [Description("Next due date on or after (yyyy-MM-dd)")] string? dueFrom,
        [Description("Next due date on or before (yyyy-MM-dd)")] string? dueTo,
        [Description("json (default) or csv")] string? format,
        CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var query = WorklistQuery.Parse(status, dueFrom, dueTo, errors);
        if (format is not (null or "json" or "csv"))
        {
            errors["format"] = ["format must be json or csv."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, detail: "Query parameters invalid: " + string.Join(", ", errors.Keys) + ".",
                title: ErrorCodes.ValidationFailed.Title, type: ErrorCodes.ValidationFailed.Type,
                extensions: CdsRiskExceptionHandler.Extensions(http, ErrorCodes.ValidationFailed));
        }

        var rows = await store.ListAsync(cancellationToken);
        var entries = query.Apply(rows.Select(r => WorklistJson.Read(r.EntryJson)));
        if (format == "csv")
        {
            return TypedResults.File(Encoding.UTF8.GetBytes(WorklistCsv.Write(entries)), WorklistCsv.MediaType + "; charset=utf-8", "follow-up.csv");
        }

        return TypedResults.Ok(new FollowUpWorklist(entries));
    }

    private static async Task<Ok<SweepStatus>> SweepAsync(FollowUpStore store, IOptions<FollowUpOptions> options, CancellationToken cancellationToken)
    {
        var last = await store.LastSweepAsync(finishedOnly: false, cancellationToken);
        SweepRun? run = last switch
        {
            null => null,
            { SummaryJson: { } json } => JsonSerializer.Deserialize<SweepRun>(json, FollowUpSweeper.Json),
            _ => new SweepRun { Id = last.Id, State = last.State, StartedAt = last.Started },
        };
        return TypedResults.Ok(new SweepStatus { SweepMinutes = options.Value.SweepMinutes, LastRun = run });
    }
}
