using System.Text.Json;

namespace CdsRisk.Core.Eligibility;

/// <summary>The 17 criteria of NCT07282184, with the ids used on the wire (card extension "cdsrisk".criteria).</summary>
public static class CriterionIds
{
    public const string Age = "age";
    public const string Consent = "consent";
    public const string BclcStage = "bclc-stage";
    public const string ResectionScheduled = "resection-scheduled";
    public const string PreScore = "pre-score";
    public const string ChildPugh = "child-pugh";
    public const string Ecog = "ecog";
    public const string Mri4Phase = "mri-4-phase";
    public const string FollowUp = "follow-up";
    public const string NonHccPathology = "non-hcc-pathology";
    public const string OtherMalignancy = "other-malignancy";
    public const string EarlyDeathOrLoss = "early-death-or-loss";
    public const string RegimenHypersensitivity = "regimen-hypersensitivity";
    public const string HeartFailure = "heart-failure";
    public const string SevereRenalDysfunction = "severe-renal-dysfunction";
    public const string UncontrolledHypertension = "uncontrolled-hypertension";
    public const string InvestigatorJudgement = "investigator-judgement";

    public static IReadOnlyList<string> All { get; } =
    [
        Age, Consent, BclcStage, ResectionScheduled, PreScore, ChildPugh, Ecog, Mri4Phase, FollowUp,
        NonHccPathology, OtherMalignancy, EarlyDeathOrLoss, RegimenHypersensitivity, HeartFailure,
        SevereRenalDysfunction, UncontrolledHypertension, InvestigatorJudgement,
    ];
}

/// <summary>
/// pass = requirement satisfied (inclusion met or exclusion absent); fail; unknown = data missing, stale or conflicting (something to
/// record); to-be-confirmed = only a person, or the future, can say; pending = the service is still working it out (the images are
/// being read, the PRE computed): nothing for anyone to record.
/// </summary>
public enum CriterionStatus
{
    Pass,
    Fail,
    Unknown,
    ToBeConfirmed,
    Pending,
}

/// <summary>One piece of evidence: what resource, which value (with units), when.</summary>
public sealed record Evidence(string? Reference, string Description, string? Value = null, DateTimeOffset? Date = null);

public sealed record CriterionResult(string Id, CriterionStatus Status, string Reason, IReadOnlyList<Evidence> Evidence)
{
    /// <summary>For needs-data outcomes: exactly what the clinician should record (e.g. "Record ECOG performance status (within 30 days)").</summary>
    public string? ToRecord { get; init; }
}

/// <summary>Overall outcome of one evaluation, as on the wire.</summary>
public enum EligibilityOutcome
{
    Eligible,
    Ineligible,
    NeedsData,
    Pending,
    LowRisk,

    /// <summary>The record could not be read well enough to tell whether the trial applies (e.g. the diagnoses could not be loaded).</summary>
    NotAssessed,

    /// <summary>The patient is on study (ResearchSubject): the follow-up, not screening (issue 17).</summary>
    OnStudy,
}

/// <summary>
/// The one rule that turns this service's enums into wire strings: kebab-case of the member name (<c>ToBeConfirmed</c> →
/// <c>to-be-confirmed</c>, <c>NeedsData</c> → <c>needs-data</c>). The API's JSON converter uses the same <see cref="Policy"/>.
/// </summary>
public static class WireNames
{
    public static JsonNamingPolicy Policy { get; } = JsonNamingPolicy.KebabCaseLower;

    public static string ToWire<T>(this T value)
        where T : struct, Enum =>
        Enum.IsDefined(value) ? Policy.ConvertName(value.ToString()) : throw new ArgumentOutOfRangeException(nameof(value), value, $"not a {typeof(T).Name}");
}
