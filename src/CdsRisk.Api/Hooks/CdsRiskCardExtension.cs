using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using CdsRisk.Core.Cards;
using CdsRisk.Core.Eligibility;

namespace CdsRisk.Api.Hooks;

/// <summary>Card-level extensions written by this service.</summary>
public sealed record CardExtension
{
    /// <summary>The machine-readable result for integrators (stable contract, issue #2).</summary>
    [JsonPropertyName("cdsrisk")]
    public required CdsRiskCardExtension CdsRisk { get; init; }
}

/// <summary>The <c>cdsrisk</c> card extension: overall outcome, PRE score, model identity and every criterion, for machines.</summary>
public sealed record CdsRiskCardExtension
{
    /// <summary>Overall outcome.</summary>
    public required EligibilityOutcome Outcome { get; init; }

    /// <summary>PRE score in [0, 1] (probability of aggressive recurrence within 2 years), when computed and meaningful for the patient.</summary>
    public double? PreScore { get; init; }

    /// <summary>The model that computed <c>preScore</c>, when one is shown.</summary>
    public ModelReference? Model { get; init; }

    /// <summary>Which card this is (a code of the card-topic CodeSystem).</summary>
    public required CardKind Card { get; init; }

    /// <summary>The protocol's PRE threshold the outcome was decided with.</summary>
    public double? Threshold { get; init; }

    /// <summary><c>high</c> or <c>low</c> when there is a score.</summary>
    [AllowedValues("high", "low", null)]
    public string? Risk { get; init; }

    /// <summary>Clinical features the model did not have and imputed with the training mean.</summary>
    public IReadOnlyList<string>? ImputedFeatures { get; init; }

    /// <summary>The RiskAssessment written for this score, once the FHIR server has it (<c>RiskAssessment/{id}</c>).</summary>
    public string? RiskAssessment { get; init; }

    /// <summary>Version of the protocol file the criteria were evaluated with.</summary>
    public string? ProtocolVersion { get; init; }

    /// <summary>With outcome <c>on-study</c>: the follow-up schedule and safety signals (issue 17).</summary>
    public FollowUpEntry? FollowUp { get; init; }

    /// <summary>Every criterion keyed by id (<c>age</c>, <c>consent</c>, <c>bclc-stage</c>, …, <c>investigator-judgement</c>), with its evidence.</summary>
    public required IReadOnlyDictionary<string, CriterionEntry> Criteria { get; init; }
}

/// <summary>Identity of the PRE model.</summary>
public sealed record ModelReference
{
    public required string Id { get; init; }
    public required string Version { get; init; }

    /// <summary>SHA-256 of the ONNX file, lowercase hex.</summary>
    public required string Sha256 { get; init; }

    /// <summary><c>true</c> when the model card says the model is not for clinical use (the bundled reference model); omitted otherwise.</summary>
    public bool? NotForClinicalUse { get; init; }

    public static ModelReference From(ModelIdentity model) => new()
    {
        Id = model.Id,
        Version = model.Version,
        Sha256 = model.Sha256,
        NotForClinicalUse = model.IsReferenceModel ? true : null,
    };
}

/// <summary>One criterion's result on the wire.</summary>
public sealed record CriterionEntry
{
    /// <summary>pass = requirement satisfied (inclusion met or exclusion absent); fail; unknown = data missing, stale or conflicting (toRecord says what to record); to-be-confirmed = only a person, or the future, can say; pending = the service is still reading the images or computing the PRE.</summary>
    public required CriterionStatus Status { get; init; }

    public required string Reason { get; init; }

    /// <summary>The data the status rests on; omitted when there is none (CDS Hooks JSON rule: no empty arrays).</summary>
    public required IReadOnlyList<EvidenceEntry> Evidence { get; init; }

    /// <summary>For needs-data: what the clinician should record.</summary>
    public string? ToRecord { get; init; }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IReadOnlyList<CriterionResult>, IReadOnlyDictionary<string, CriterionEntry>> Mapped = [];

    /// <summary>
    /// The criteria of one evaluation by id, as every card's extension and the audit record carry them. An evaluation's criteria are
    /// immutable and a cached evaluation is answered many times, so the mapping is made once per list and shared (read-only).
    /// </summary>
    public static IReadOnlyDictionary<string, CriterionEntry> ById(IReadOnlyList<CriterionResult> criteria) =>
        Mapped.GetValue(criteria, static list => list.ToDictionary(c => c.Id, From, StringComparer.Ordinal));

    public static CriterionEntry From(CriterionResult result) => new()
    {
        Status = result.Status,
        Reason = result.Reason,
        Evidence = [.. result.Evidence.Select(EvidenceEntry.From)],
        ToRecord = result.ToRecord,
    };
}

/// <summary>One piece of evidence: which resource, what value (with units), when.</summary>
public sealed record EvidenceEntry
{
    /// <summary>FHIR reference, e.g. <c>Observation/afp-1</c>.</summary>
    public string? Reference { get; init; }
    public required string Description { get; init; }
    public string? Value { get; init; }
    public DateTimeOffset? Date { get; init; }

    public static EvidenceEntry From(Evidence e) => new() { Reference = e.Reference, Description = e.Description, Value = e.Value, Date = e.Date };
}

/// <summary>The follow-up of an on-study patient (issue 17): the anchor, every scheduled item, the open safety signals.</summary>
public sealed record FollowUpEntry
{
    /// <summary>The completed liver resection the schedule counts from; omitted when none is on record.</summary>
    public EvidenceEntry? Anchor { get; init; }

    /// <summary>The ResearchSubject that puts the patient on study.</summary>
    public string? ResearchSubject { get; init; }

    public IReadOnlyList<FollowUpItemEntry>? Items { get; init; }
    public IReadOnlyList<SafetySignalEntry>? Signals { get; init; }

    public static FollowUpEntry From(Core.FollowUp.FollowUpResult f) => new()
    {
        Anchor = f.Anchor is { } a ? EvidenceEntry.From(a) : null,
        ResearchSubject = f.Enrolment.Reference,
        Items = f.Items.Count == 0 ? null : [.. f.Items.Select(FollowUpItemEntry.From)],
        Signals = f.Signals.Count == 0 ? null : [.. f.Signals.Select(SafetySignalEntry.From)],
    };
}

/// <summary>One follow-up item: <c>m3-imaging</c> … <c>m24-lft</c>, <c>cycle-N-labs</c>.</summary>
public sealed record FollowUpItemEntry
{
    public required string Id { get; init; }
    public required string What { get; init; }

    /// <summary>The due date (yyyy-MM-dd); the item counts as done inside [windowStart, windowEnd].</summary>
    public required string Due { get; init; }
    public required string WindowStart { get; init; }
    public required string WindowEnd { get; init; }

    [AllowedValues("done", "due", "overdue", "upcoming")]
    public required string Status { get; init; }

    /// <summary>For done items: what on record shows it done.</summary>
    public IReadOnlyList<EvidenceEntry>? Evidence { get; init; }

    public static FollowUpItemEntry From(Core.FollowUp.FollowUpItem i) => new()
    {
        Id = i.Id,
        What = i.What,
        Due = i.Due.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
        WindowStart = i.WindowStart.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
        WindowEnd = i.WindowEnd.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
        Status = Core.FollowUp.FollowUpWireNames.ToWire(i.Status),
        Evidence = i.Evidence.Count == 0 ? null : [.. i.Evidence.Select(EvidenceEntry.From)],
    };
}

/// <summary>A possible adverse event during protocol therapy: the CTCAE v5.0 term and grade band, the reason, the evidence.</summary>
public sealed record SafetySignalEntry
{
    public required string Id { get; init; }
    public required string Term { get; init; }

    /// <summary>The CTCAE v5.0 grade band the value falls in; omitted where CTCAE grades on symptoms (thyroid dysfunction).</summary>
    public int? Grade { get; init; }
    public required string Reason { get; init; }
    public required IReadOnlyList<EvidenceEntry> Evidence { get; init; }

    public static SafetySignalEntry From(Core.FollowUp.SafetySignal s) => new()
    {
        Id = s.Id,
        Term = s.Term,
        Grade = s.Grade,
        Reason = s.Reason,
        Evidence = [.. s.Evidence.Select(EvidenceEntry.From)],
    };
}
