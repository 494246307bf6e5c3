using CdsRisk.Api.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CdsRisk.Api.Health;

/// <summary>The readiness probe's answer: <c>ready</c> or not, and each check (<c>ok</c>, <c>pending</c> or why it failed).</summary>
public sealed record ReadinessReport
{
    /// <summary><c>ready</c>, <c>warming-up</c> or <c>not-ready</c>.</summary>
    public required string Status { get; init; }

    /// <summary><c>storage</c>, <c>model</c> and <c>warmUp</c>: <c>ok</c>, <c>pending</c>, or <c>failed: …</c> with the reason.</summary>
    public required IReadOnlyDictionary<string, string> Checks { get; init; }

    /// <summary>How long the start-up warm-up took, once done.</summary>
    public long? WarmUpMilliseconds { get; init; }
}

public static class ReadinessEndpoints
{
    private static readonly TimeSpan StorageTimeout = TimeSpan.FromSeconds(2);

    /// <summary>The start-up warm-up and what <c>/readyz</c> reports.</summary>
    public static IServiceCollection AddReadiness(this IServiceCollection services)
    {
        services.AddSingleton<WarmUpState>();
        services.AddHostedService<StartupWarmUp>();
        return services;
    }

    /// <summary><c>GET /readyz</c>: anonymous like <c>/healthz</c>; <c>/healthz</c> stays the liveness probe.</summary>
    public static IEndpointRouteBuilder MapReadiness(this IEndpointRouteBuilder app)
    {
        app.MapGet("/readyz", ReadyAsync)
            .WithName("Readiness")
            .WithSummary("Readiness probe: 200 once warmed up with storage and model usable, else 503")
            .WithDescription("503 while the start-up warm-up runs (the model session, FHIR parsing, the JSON and card paths) or when the database or the model cannot be used; 200 then. Send hooks (and route traffic) once it says ready: the first hook then answers like any other. No token.")
            .WithTags("Operations")
            .Produces<ReadinessReport>(StatusCodes.Status503ServiceUnavailable)
            .AllowAnonymous();
        return app;
    }

    private static async Task<Results<Ok<ReadinessReport>, JsonHttpResult<ReadinessReport>>> ReadyAsync(WarmUpState warmUp, Database database, CancellationToken cancellationToken)
    {
        var storage = await CheckStorageAsync(database, cancellationToken);
        var checks = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["storage"] = storage,
            ["model"] = warmUp.Model ?? "pending",
            ["warmUp"] = warmUp.IsDone ? warmUp.Pipeline! : "pending",
        };
        var ready = checks.Values.All(v => v == "ok");
        var report = new ReadinessReport
        {
            Status = ready ? "ready" : warmUp.IsDone ? "not-ready" : "warming-up",
            Checks = checks,
            WarmUpMilliseconds = warmUp.Elapsed is { } elapsed ? (long)elapsed.TotalMilliseconds : null,
        };
        return ready ? TypedResults.Ok(report) : TypedResults.Json(report, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary>The database answers a query within <see cref="StorageTimeout"/> (its tables made at start).</summary>
    private static async Task<string> CheckStorageAsync(Database database, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StorageTimeout);
        try
        {
            await database.EnsureMigratedAsync().WaitAsync(timeout.Token);
            await using var connection = await database.OpenAsync(timeout.Token);
            await connection.ScalarAsync(null, "SELECT 1;", timeout.Token);
            return "ok";
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return "failed: no answer within 2 s";
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or InvalidOperationException or IOException)
        {
            return "failed: " + ex.GetType().Name;
        }
    }
}
