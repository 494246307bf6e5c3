using CdsRisk.Api.FollowUp;
using CdsRisk.Api.Audit;
using CdsRisk.Api.DicomWeb;
using CdsRisk.Api.Hooks;
using FluentValidation;
using CdsRisk.Api.Scoring;
using CdsRisk.Api.WriteBack;
using CdsRisk.Core.Eligibility;
using CdsRisk.Core.Scoring;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Pipeline;

/// <summary>Configuration section <c>Eligibility</c>.</summary>
public sealed class EligibilityOptions
{
    public const string Section = "Eligibility";

    /// <summary>A site folder holding nct07282184.protocol.json and nct07282184.valuesets.json; empty for the bundled files.</summary>
    public string? DataDirectory { get; set; }
}

/// <summary>Loads the protocol and value-set files once at start-up, so a bad file stops the service with the file and field named.</summary>
internal sealed class EligibilityOptionsValidator : IValidateOptions<EligibilityOptions>
{
    public ValidateOptionsResult Validate(string? name, EligibilityOptions options)
    {
        try
        {
            _ = EligibilityData.Load(options.DataDirectory);
            return ValidateOptionsResult.Success;
        }
        catch (EligibilityDataException ex)
        {
            return ValidateOptionsResult.Fail($"Eligibility:DataDirectory: {ex.Message}");
        }
    }
}

public static class PipelineServiceCollectionExtensions
{
    /// <summary>The integrator and auditor endpoints under /api.</summary>
    public static IEndpointRouteBuilder MapRiskApi(this IEndpointRouteBuilder app)
    {
        app.MapScoringJobs();
        app.MapAudit();
        app.MapFollowUp();
        return app;
    }

    /// <summary>Everything behind a hook after data loading: eligibility, imaging (DICOMweb), the PRE model, scoring jobs, cards, write-back and audit.</summary>
    public static IServiceCollection AddRiskPipeline(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<PipelineOptions>().BindConfiguration(PipelineOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<EligibilityOptions>().BindConfiguration(EligibilityOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<EligibilityOptions>, EligibilityOptionsValidator>();
        services.AddSingleton(sp => new EligibilityEngine(EligibilityData.Load(sp.GetRequiredService<IOptions<EligibilityOptions>>().Value.DataDirectory)));
        services.AddSingleton(sp => new OrderSelectChecks(sp.GetRequiredService<EligibilityEngine>().Data));
        services.AddOptions<FollowUp.FollowUpOptions>().BindConfiguration(FollowUp.FollowUpOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp => new Core.FollowUp.FollowUpEngine(sp.GetRequiredService<EligibilityEngine>().Data));
        services.AddSingleton<FollowUp.FollowUpSweeper>();
        services.AddHostedService<FollowUp.FollowUpSweepWorker>();

        services.AddPreScoring().BindConfiguration(PreModelOptions.SectionName);
        services.AddDicomWeb(configuration);

        services.AddOptions<ScoringOptions>().BindConfiguration(ScoringOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IScoringWork, ImagingScoringWork>();
        services.AddSingleton<ScoreStoredSignal>();
        services.AddSingleton<ScoringCoordinator>();
        services.AddSingleton<ScoringStage>();
        services.AddScoped<DicomPatientResolver>();
        services.AddScoped<ScoringJobs>();
        services.AddHostedService<ScoringWorker>();

        services.AddOptions<WriteBackOptions>().BindConfiguration(WriteBackOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<FhirCredentials>();
        services.AddSingleton<OutboxWriter>();
        services.AddSingleton<RiskAssessmentWriteBack>();
        services.AddHostedService<OutboxWorker>();
        // Writes are retried by the outbox, not here: one attempt per drain, bounded by WriteBack:TimeoutSeconds.
        services.AddHttpClient(OutboxWriter.HttpClientName, http => http.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false });
        services.AddHttpClient(FhirCredentials.TokenClient, http => http.Timeout = TimeSpan.FromSeconds(10))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false });

        services.AddSingleton<TrialRiskEvaluator>();
        services.AddSingleton<IRiskEvaluator, CachingRiskEvaluator>();
        services.AddSingleton<HookCards>();
        services.AddSingleton<AssessmentRecorder>();
        services.AddHostedService<AuditWriter>();

        return services;
    }
}
