using System.ComponentModel.DataAnnotations;

namespace CdsRisk.Api.Pipeline;

/// <summary>Configuration section <c>Pipeline</c>.</summary>
public sealed class PipelineOptions
{
    public const string Section = "Pipeline";

    /// <summary>
    /// How long a hook may take before it answers (CDS Hooks asks for "on the order of 500 ms"). Imaging and scoring that do not
    /// finish inside it go on in the background; the hook answers with the pending card and the next one uses the cached score.
    /// </summary>
    [Range(50, 30_000)]
    public int LatencyBudgetMilliseconds { get; set; } = 700;

    /// <summary>Time kept back from the budget for eligibility, cards and the audit record.</summary>
    [Range(0, 5_000)]
    public int ReserveMilliseconds { get; set; } = 100;

    /// <summary>
    /// How long the reading (parsed prefetch) and evaluation of settled content are reused for a call with the same content on the
    /// same day (<see cref="CachingRiskEvaluator"/>); 0 reads and evaluates every call. Cards and the audit record are made for every call.
    /// </summary>
    [Range(0, 3_600)]
    public int EvaluationCacheSeconds { get; set; } = 60;

    /// <summary>The trial's page, linked from the cards.</summary>
    [Url]
    public string TrialPageUrl { get; set; } = "https://clinicaltrials.gov/study/NCT07282184";

    /// <summary>A SMART app that shows the PRE score in context; linked from the cards when set.</summary>
    public string? SmartAppUrl { get; set; }

    /// <summary>Where the model card is published (Device and Provenance point at it); optional.</summary>
    public string? ModelCardUrl { get; set; }
}
