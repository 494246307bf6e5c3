using System.ComponentModel.DataAnnotations;

namespace CdsRisk.Api.FollowUp;

/// <summary>Configuration section <c>FollowUp</c> (issue 17).</summary>
public sealed class FollowUpOptions
{
    public const string Section = "FollowUp";

    /// <summary>
    /// The trial's ResearchStudy on the FHIR servers, as relative references (<c>ResearchStudy/{id}</c>): a ResearchSubject whose
    /// <c>study</c> is one of these is for the trial, as is one whose study reference carries the identifier NCT07282184. The sweep
    /// searches <c>ResearchSubject?study=</c> each of them.
    /// </summary>
    public List<string> StudyReferences { get; set; } = [];

    /// <summary>Minutes between two sweeps of the on-study patients; 0 turns the sweep off.</summary>
    [Range(0, 24 * 60)]
    public int SweepMinutes { get; set; } = 60;

    /// <summary>Most on-study patients one sweep reads per FHIR server.</summary>
    [Range(1, 10_000)]
    public int MaxSubjectsPerServer { get; set; } = 1_000;
}
