using System.Globalization;
using CdsRisk.Core.Patients;
using CdsRisk.Core.Scores;
using CdsRisk.Core.Scoring;

namespace CdsRisk.Core.Eligibility;

/// <summary>
/// Evaluates the 17 criteria of NCT07282184 for one patient. Construct once from the loaded protocol and value sets;
/// <see cref="Evaluate"/> is thread-safe (no mutable state).
/// </summary>
public sealed class EligibilityEngine
{
    private readonly ProtocolSettings _p;
    private readonly PatientSnapshotBuilder _builder;

    public EligibilityEngine(EligibilityData data)
    {
        Data = data;
        _p = data.Protocol;
        _builder = new PatientSnapshotBuilder(data);
    }

    public EligibilityData Data { get; }

    public PatientSnapshot Snapshot(PatientRecord record, DateTimeOffset evaluatedAt) => _builder.Build(record, evaluatedAt);

    public EligibilityResult Evaluate(PatientRecord record, EligibilityInputs inputs) => Evaluate(_builder.Build(record, inputs.EvaluatedAt), inputs);

    /// <summary>For a pipeline that already built the snapshot (e.g. for the model's clinical features); it must be for the same time.</summary>
    public EligibilityResult Evaluate(PatientSnapshot s, EligibilityInputs inputs)
    {
        if (s.EvaluatedAt != inputs.EvaluatedAt)
        {
            throw new ArgumentException($"snapshot is for {s.EvaluatedAt:O}, inputs for {inputs.EvaluatedAt:O}", nameof(inputs));
        }

        CriterionResult[] criteria =
        [
            Age(s),
            Confirm(CriterionIds.Consent, "Written informed consent: obtained by the study team"),
            BclcStage(s),
            Resection(s),
            PreScore(inputs.Pre, s, inputs.Mri),
            ChildPughCriterion(s),
            Ecog(s),
            inputs.Mri is { } mri ? MriOutsideWindow(s) ?? FromAssessment(mri, s) : MriFromStudy(s),
            Confirm(CriterionIds.FollowUp, "Ability to attend 2 years of follow-up: to be confirmed with the patient"),
            NonHccPathology(s),
            OtherMalignancy(s),
            Confirm(CriterionIds.EarlyDeathOrLoss, "Death or loss to follow-up within 90 days after surgery: known only after surgery"),
            RegimenHypersensitivity(s),
            HeartFailure(s),
            Renal(s),
            Hypertension(s),
            Confirm(CriterionIds.InvestigatorJudgement, "Investigator judgement: to be confirmed by the investigator"),
        ];
        return Conclude(criteria, inputs.Pre, s);
    }

    private EligibilityResult Conclude(CriterionResult[] criteria, PreScoreState pre, PatientSnapshot s)
    {
        // pre-score is not an exclusion: a low PRE gives low-risk, not ineligible (issue 3 item 4).
        var failing = criteria.Where(c => c.Status == CriterionStatus.Fail && c.Id != CriterionIds.PreScore).Select(c => c.Id).ToList();
        var unknown = criteria.Where(c => c.Status == CriterionStatus.Unknown).Select(c => c.Id).ToList();
        var pending = criteria.Any(c => c.Status == CriterionStatus.Pending);
        // One item per thing to record: the same request from two criteria is listed once.
        var toRecord = criteria.Where(c => c.Status == CriterionStatus.Unknown && c.ToRecord is not null).Select(c => c.ToRecord!).Distinct(StringComparer.Ordinal).ToList();
        var toConfirm = criteria.Count(c => c.Status == CriterionStatus.ToBeConfirmed);
        var threshold = Num(_p.PreThreshold);
        var (keyMissing, imputed) = ModelInputs(s);

        var (outcome, summary) = (failing.Count, unknown.Count, pending) switch
        {
            ( > 0, _, _) => (EligibilityOutcome.Ineligible, $"Not eligible for {_p.ProtocolId}: {string.Join(", ", failing)}"),
            (_, > 0, _) => (EligibilityOutcome.NeedsData, $"More data needed for {_p.ProtocolId}: {string.Join(", ", unknown)}"),
            (_, _, true) => (EligibilityOutcome.Pending, "Automatic criteria met so far; the images are being read and the PRE score computed"),
            _ when pre.Value < _p.PreThreshold => (EligibilityOutcome.LowRisk, $"Not a candidate for {_p.ProtocolId}: PRE {Num(pre.Value!.Value)} below the trial's threshold {threshold}"),
            _ => (EligibilityOutcome.Eligible, $"Potential candidate for {_p.ProtocolId}: PRE {Num(pre.Value!.Value)} ≥ {threshold}, automatic criteria met; {toConfirm} to be confirmed"),
        };

        // The PRE describes only patients inside the population the model and the trial are for (issue 14 section 3).
        string? notUsed = pre.Status != PreScoreStatus.Computed ? null
            : s.Hcc is null ? "no HCC diagnosis on record: the PRE describes patients with HCC"
            : failing.Count > 0 ? $"the patient is outside the trial's population ({string.Join(", ", failing)}): the PRE was not used"
            : keyMissing.Count > 0 ? $"{string.Join(", ", keyMissing)} not available: the PRE would rest on the training average"
            : null;
        return new EligibilityResult(outcome, summary, criteria, failing, toRecord, pre, $"{_p.ProtocolId} {_p.Version}", s)
        {
            PreIsMeaningful = pre.Status == PreScoreStatus.Computed && notUsed is null,
            PreNotUsedReason = notUsed,
            ImputedInputs = imputed,
            MissingKeyInputs = keyMissing,
        };
    }

    /// <summary>The model's key inputs that are missing, and the minor ones that will be imputed, by the names clinicians use.</summary>
    private (List<string> KeyMissing, List<string> Imputed) ModelInputs(PatientSnapshot s)
    {
        var missing = ClinicalFeatureBuilder.Build(s).Missing;
        var key = ClinicalFeatureNames.All.Where(f => missing.ContainsKey(f) && _p.PreKeyInputs.Contains(f)).Select(InputName).ToList();
        var imputed = ClinicalFeatureNames.All.Where(f => missing.ContainsKey(f) && !_p.PreKeyInputs.Contains(f)).Select(InputName).ToList();
        return (key, imputed);
    }

    internal static string InputName(string feature) => feature switch
    {
        ClinicalFeatureNames.AgeYears => "age",
        ClinicalFeatureNames.SexMale => "sex",
        ClinicalFeatureNames.AfpNgPerMl => "AFP",
        ClinicalFeatureNames.AlbuminGPerL => "albumin",
        ClinicalFeatureNames.BilirubinUmolPerL => "bilirubin",
        ClinicalFeatureNames.PlateletsE9PerL => "platelets",
        ClinicalFeatureNames.Inr => "INR",
        ClinicalFeatureNames.TumourSizeCm => "largest tumour size",
        ClinicalFeatureNames.TumourCount => "tumour count",
        _ => feature,
    };

    private static CriterionResult Result(string id, CriterionStatus status, string reason, IEnumerable<Evidence>? evidence = null, string? toRecord = null) =>
        new(id, status, reason, evidence is null ? [] : [.. evidence]) { ToRecord = status == CriterionStatus.Unknown ? toRecord : null };

    private static CriterionResult Confirm(string id, string reason) => new(id, CriterionStatus.ToBeConfirmed, reason, []);

    private static string UpperFirst(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

    private static string Num(double v) => v.ToString("0.0#", CultureInfo.InvariantCulture);

    private static string Num(decimal v) => FhirRead.Num(v);

    private static CriterionResult? Unavailable(PatientSnapshot s, string id, string what, params string[] categories)
    {
        var missing = categories.Where(c => s.UnavailableData.Contains(c, StringComparer.OrdinalIgnoreCase)).ToList();
        return missing.Count == 0 ? null : Result(id, CriterionStatus.Unknown,
            $"{string.Join(", ", missing)} could not be loaded: {what} cannot be checked", null, $"Review {what} ({string.Join(", ", missing)} could not be loaded)");
    }

    private CriterionResult Age(PatientSnapshot s)
    {
        var a = s.Age;
        var range = $"protocol admits {_p.MinAgeYears}-{_p.MaxAgeYears}";
        Evidence[] ev = [new(a.Reference, "birth date", a.BirthDate, null)];
        if (a.MinYears is not { } min || a.MaxYears is not { } max)
        {
            return Result(CriterionIds.Age, CriterionStatus.Unknown, a.BirthDate is null ? "Date of birth not recorded" : $"Date of birth '{a.BirthDate}' cannot be read", ev, "Record the date of birth");
        }

        if (min < 0)
        {
            return Result(CriterionIds.Age, CriterionStatus.Unknown, $"Date of birth '{a.BirthDate}' is after the evaluation date", ev, "Correct the date of birth");
        }

        var age = min == max ? $"Age {min}" : $"Age {min}-{max} (birth date {a.BirthDate})";
        if (min >= _p.MinAgeYears && max <= _p.MaxAgeYears)
        {
            return Result(CriterionIds.Age, CriterionStatus.Pass, $"{age}: {range}", ev);
        }

        if (max < _p.MinAgeYears || min > _p.MaxAgeYears)
        {
            var side = max < _p.MinAgeYears ? $"below {_p.MinAgeYears}" : $"above {_p.MaxAgeYears}";
            return Result(CriterionIds.Age, CriterionStatus.Fail, $"{age}: {side}; {range}", ev);
        }

        return Result(CriterionIds.Age, CriterionStatus.Unknown, $"{age}: partial birth date spans a protocol limit", ev, "Record the full date of birth");
    }

    private CriterionResult BclcStage(PatientSnapshot s)
    {
        const string id = CriterionIds.BclcStage;
        if (Unavailable(s, id, "the HCC diagnosis", "Condition") is { } u)
        {
            return u;
        }

        if (s.Hcc is not { } hcc)
        {
            return Result(id, CriterionStatus.Unknown, "No active HCC diagnosis on record", null,
                "Record the HCC diagnosis (Condition) with its basis: histology or non-invasive imaging criteria");
        }

        var ev = new List<Evidence> { hcc.Condition.ToEvidence(hcc.Specific ? "HCC diagnosis" : "liver cancer, type not recorded") };
        if (!hcc.Confirmed)
        {
            return Result(id, CriterionStatus.Unknown, $"HCC diagnosis is {hcc.Condition.VerificationStatus}, not confirmed", ev,
                "Confirm the HCC diagnosis (histology or non-invasive imaging criteria)");
        }

        if (hcc.Basis is null)
        {
            return Result(id, CriterionStatus.Unknown, "Basis of the HCC diagnosis (histology or imaging criteria) not recorded", ev,
                "Record the basis of the HCC diagnosis (histology or non-invasive imaging criteria)");
        }

        var basis = hcc.Basis == "histology" ? "HCC by histology" : "HCC by imaging criteria";
        var admitted = $"protocol admits BCLC {string.Join("-", _p.AdmittedBclcStages)}";
        // BCLC 0/A require PS 0 but the trial admits ECOG 0-1: ECOG is judged by its own criterion (clinical.md, inconsistency 2).
        var psNote = s.Ecog is { IsAvailable: true, Value: > 0 } ? $"; strict BCLC needs PS 0, the trial admits ECOG 0-{_p.EcogMax} (see ecog)" : string.Empty;

        var recorded = s.RecordedBclc;
        if (recorded.Select(r => r.Stage).Distinct().Count() > 1)
        {
            ev.AddRange(recorded.Select(r => new Evidence(r.Reference, $"BCLC stage ({r.Source})", r.Stage, r.Date)));
            return Result(id, CriterionStatus.Unknown, $"Recorded BCLC stages conflict: {string.Join(" vs ", recorded.Select(r => $"{r.Stage} ({r.Source}, {r.Reference})"))}", ev,
                "Reconcile the recorded BCLC stage");
        }

        if (recorded.Count > 0)
        {
            var r = recorded[0];
            ev.Add(new Evidence(r.Reference, $"BCLC stage ({r.Source})", r.Stage, r.Date));
            return _p.AdmittedBclcStages.Contains(r.Stage)
                ? CrossChecked(Result(id, CriterionStatus.Pass, $"BCLC {r.Stage} (recorded), {basis}: {admitted}{psNote}", ev), s, hcc, recordedStage: true)
                : Result(id, CriterionStatus.Fail, $"BCLC {r.Stage} (recorded): {admitted}", ev);
        }

        if (s.BclcObservation.State == ValueState.Conflicting)
        {
            ev.AddRange(s.BclcObservation.Evidence);
            return Result(id, CriterionStatus.Unknown, $"Recorded BCLC stages conflict: {s.BclcObservation.Detail}", ev, "Reconcile the recorded BCLC stage");
        }

        var cp = s.ChildPugh;
        bool? preserved = cp.Score is { } score ? score <= _p.ChildPughMaxScore : cp.MinPossible > _p.ChildPughMaxScore ? false : null;
        var d = Bclc.Derive(
            s.TumourCount.IsAvailable ? (int)s.TumourCount.Value!.Value : null,
            s.TumourSizeCm.IsAvailable ? s.TumourSizeCm.Value : null,
            preserved);
        ev.AddRange(s.TumourCount.Evidence);
        ev.AddRange(s.TumourSizeCm.Evidence);
        var liver = cp.Label is { } label ? $", Child-Pugh {label}" : string.Empty;
        if (d.Stage is null)
        {
            var problems = new[] { s.TumourCount, s.TumourSizeCm }.Where(v => !v.IsAvailable).Select(v => v.Describe());
            var why = string.Join("; ", problems.DefaultIfEmpty(d.Detail));
            if (preserved is null)
            {
                why += "; Child-Pugh incomplete";
            }

            var stale = s.BclcObservation.State == ValueState.Stale ? $"; recorded stage out of date ({s.BclcObservation.Detail})" : string.Empty;
            return Result(id, CriterionStatus.Unknown, $"BCLC not recorded and cannot be derived: {why}{stale}", ev,
                $"Record the BCLC stage, or tumour number and largest size (within {_p.Windows.TumourMeasurements} days)");
        }

        var stage = d.Stage == "B+" ? "B or beyond" : d.Stage;
        return _p.AdmittedBclcStages.Contains(d.Stage)
            ? CrossChecked(Result(id, CriterionStatus.Pass, $"BCLC {stage} (derived: {d.Detail}{liver}), {basis}: {admitted}{psNote}", ev), s, hcc, recordedStage: false)
            : Result(id, CriterionStatus.Fail, $"BCLC {stage} (derived: {d.Detail}{liver}): {admitted}", ev);
    }

    /// <summary>
    /// An admitted stage checked against the rest of the record (issue 14 section 4): a recorded stage 0/A next to Child-Pugh B or C
    /// with ascites, or with macrovascular invasion or extrahepatic spread on record, and a liver cancer recorded without saying it is
    /// HCC, are to be confirmed. A derived stage says which BCLC elements it did not assess.
    /// </summary>
    private static CriterionResult CrossChecked(CriterionResult admitted, PatientSnapshot s, HccDiagnosis hcc, bool recordedStage)
    {
        var doubts = new List<string>();
        var evidence = admitted.Evidence.ToList();
        if (!hcc.Specific)
        {
            doubts.Add($"the liver cancer is recorded as '{hcc.Condition.Display}', not as HCC");
        }

        if (recordedStage && s.ChildPugh is { Score: not null, Class: not "A" } cp && s.AscitesGrade is { IsAvailable: true, Value: > 0 })
        {
            doubts.Add($"Child-Pugh {cp.Label} with ascites on record: BCLC 0-A needs preserved liver function");
            evidence.AddRange(s.AscitesGrade.Evidence);
        }

        if (s.VascularInvasion.Count > 0)
        {
            doubts.Add($"macrovascular invasion on record ({s.VascularInvasion[0].Display}): BCLC C");
            evidence.AddRange(s.VascularInvasion.Select(c => c.ToEvidence("vascular invasion")));
        }

        if (s.ExtrahepaticSpread.Count > 0)
        {
            doubts.Add($"possible extrahepatic spread on record ({s.ExtrahepaticSpread[0].Display}): BCLC C");
            evidence.AddRange(s.ExtrahepaticSpread.Select(c => c.ToEvidence("secondary malignancy")));
        }

        // Derived from tumour burden and Child-Pugh only: say what that leaves out, so nobody reads it as a full staging.
        var notAssessed = recordedStage ? string.Empty
            : "; not assessed from the record: macrovascular invasion and extrahepatic spread" + (s.VascularInvasion.Count + s.ExtrahepaticSpread.Count > 0 ? " (see below)" : " (none recorded)")
              + ", performance status (judged by the ECOG criterion)";
        return doubts.Count == 0
            ? admitted with { Reason = admitted.Reason + notAssessed }
            : new CriterionResult(admitted.Id, CriterionStatus.ToBeConfirmed, $"{admitted.Reason}{notAssessed}; to confirm: {string.Join("; ", doubts)}", evidence);
    }

    private static CriterionResult Resection(PatientSnapshot s)
    {
        const string id = CriterionIds.ResectionScheduled;
        if (s.Resections.Count > 0)
        {
            var r = s.Resections[0];
            var when = r.When is { } w ? $", {FhirRead.Day(w)}" : string.Empty;
            return Result(id, CriterionStatus.Pass, $"Liver resection scheduled: {r.Display} ({r.Kind}{when})",
                s.Resections.Select(x => new Evidence(x.Reference, $"liver resection ({x.Kind})", x.Status, x.When)));
        }

        return Unavailable(s, id, "scheduled procedures", "ServiceRequest", "Procedure", "Appointment")
            ?? Result(id, CriterionStatus.Unknown, "No scheduled or ordered liver resection on record", null, "Record the planned curative liver resection (order or appointment)");
    }

    private CriterionResult PreScore(PreScoreState pre, PatientSnapshot s, MriAssessment? mri)
    {
        const string id = CriterionIds.PreScore;
        var t = Num(_p.PreThreshold);
        Evidence[] ev = pre.Value is { } v ? [new Evidence(pre.Reference, "PRE score", Num(v), null)] : [];

        // Without its key inputs the model would score the training average, not this patient: ask for them, whatever the PRE.
        var (keyMissing, _) = ModelInputs(s);
        if (keyMissing.Count > 0)
        {
            ClinicalValue[] key = [s.Afp, s.TumourSizeCm, s.TumourCount];
            var why = string.Join("; ", key.Where(k => !k.IsAvailable).Select(k => k.Describe()));
            var labs = s.Afp.IsAvailable ? [] : new[] { $"AFP (within {_p.Windows.Labs} days)" };
            var tumour = key.Skip(1).Where(k => !k.IsAvailable).Select(k => k.Name).ToList();
            var items = labs.Concat(tumour.Count == 0 ? [] : [$"{string.Join(" and ", tumour)} (within {_p.Windows.TumourMeasurements} days)"]);
            return Result(id, CriterionStatus.Unknown, $"PRE not usable without its key inputs: {why}", ev, $"Record {string.Join("; ", items)}");
        }

        return pre.Status switch
        {
            PreScoreStatus.Computed when pre.Value >= _p.PreThreshold =>
                Result(id, CriterionStatus.Pass, $"PRE {Num(pre.Value!.Value)} ≥ {t}: high risk of aggressive recurrence", ev),
            PreScoreStatus.Computed => Result(id, CriterionStatus.Fail, $"PRE {Num(pre.Value!.Value)} < {t}: low risk of aggressive recurrence", ev),
            PreScoreStatus.Pending => Result(id, CriterionStatus.Pending, pre.Reason ?? "PRE score is being computed"),
            // The PRE itself is never something to record: when the MRI is the cause, the MRI criterion asks for it (one item, not two).
            _ when mri?.Status == CriterionStatus.Unknown || s.LatestMri is null =>
                Result(id, CriterionStatus.Unknown, "PRE not computed: it needs a usable 4-phase MRI (see the MRI criterion)"),
            _ => Result(id, CriterionStatus.Unknown, $"PRE score unavailable: {pre.Reason}"),
        };
    }

    private CriterionResult ChildPughCriterion(PatientSnapshot s)
    {
        const string id = CriterionIds.ChildPugh;
        var cp = s.ChildPugh;
        var max = _p.ChildPughMaxScore;
        ClinicalValue[] values = [s.Bilirubin, s.Albumin, s.Inr, s.AscitesGrade, s.EncephalopathyGrade];
        var ev = values.SelectMany(v => v.Evidence).ToList();
        ev.AddRange(cp.Parts.Where(p => p.Points is not null).Select(p => new Evidence(null, $"Child-Pugh {p.Name}", p.Points == 1 ? "1 point" : $"{p.Points} points", null)));
        // ALBI beside Child-Pugh (Johnson et al. 2015): the same bilirubin and albumin, without the subjective parts.
        var albi = s.Albi is { } a ? $", ALBI grade {a.Grade} ({a.Score.ToString("0.00", CultureInfo.InvariantCulture)})" : string.Empty;
        if (s.Albi is { } albiScore)
        {
            ev.Add(new Evidence(null, "ALBI", $"{albiScore.Score.ToString("0.00", CultureInfo.InvariantCulture)} (grade {albiScore.Grade})", null));
        }

        var admits = $"protocol admits ≤ {max}";
        if (cp.Score is { } score)
        {
            // The protocol says "class A (score <= 7)", but 7 is B7 (clinical.md, inconsistency 1): follow the number, say so.
            var b7 = score == 7 && max >= 7 ? " (class A is 5–6; 7 is B7, admitted by the protocol's stated ≤ 7)" : string.Empty;
            return score <= max
                ? Result(id, CriterionStatus.Pass, $"Child-Pugh {score} ({cp.Label}){albi}: {admits}{b7}", ev)
                : Result(id, CriterionStatus.Fail, $"Child-Pugh {score} ({cp.Label}){albi}: {admits}", ev);
        }

        var missing = values.Where(v => !v.IsAvailable).ToList();
        if (cp.MinPossible > max)
        {
            return Result(id, CriterionStatus.Fail, $"Child-Pugh at least {cp.MinPossible} with {string.Join(", ", missing.Select(v => v.Name))} missing{albi}: {admits}", ev);
        }

        return Result(id, CriterionStatus.Unknown, $"Child-Pugh incomplete: {string.Join("; ", missing.Select(v => v.Describe()))}{albi}", ev,
            $"Record {string.Join(", ", missing.Select(v => v.Name))} (within {_p.Windows.Labs} days)");
    }

    private CriterionResult Ecog(PatientSnapshot s)
    {
        const string id = CriterionIds.Ecog;
        var e = s.Ecog;
        var admits = $"protocol admits ECOG 0-{_p.EcogMax}";
        if (e.IsAvailable)
        {
            var grade = Num(e.Value!.Value);
            return e.Value <= _p.EcogMax
                ? Result(id, CriterionStatus.Pass, $"ECOG {grade} ({FhirRead.Day(e.Date!.Value)}): {admits}", e.Evidence)
                : Result(id, CriterionStatus.Fail, $"ECOG {grade} ({FhirRead.Day(e.Date!.Value)}): {admits}", e.Evidence);
        }

        return Result(id, CriterionStatus.Unknown, $"ECOG {e.StateWord}: {e.Detail}", e.Evidence, $"Record ECOG performance status (within {_p.Windows.Ecog} days)");
    }

    private CriterionResult FromAssessment(MriAssessment m, PatientSnapshot s) =>
        new(CriterionIds.Mri4Phase, m.Status, m.Reason + SelectionNote(s),
            s.LatestMri is { } study && !m.Evidence.Any(e => e.Reference == study.Reference && e.Description == "MR study") ? [StudyEvidence(study), .. m.Evidence] : m.Evidence)
        {
            ToRecord = m.Status == CriterionStatus.Unknown ? m.ToRecord ?? PerformMri : null,
        };

    private string PerformMri => $"Perform a 4-phase liver MRI (non-contrast, arterial, portal venous, delayed) within {_p.MriWindowDays} days before enrolment";

    /// <summary>"; study of 2026-06-10 used, the newest of 3 MR studies on record" when the choice was among several (issue 15 item 5).</summary>
    private static string SelectionNote(PatientSnapshot s) => s.Mri is { OtherStudies: > 0 } m
        ? $"; study of {(m.Chosen.Started is { } d ? FhirRead.Day(d) : "unknown date")}{(m.Chosen.Description is { } desc ? $" ({desc})" : string.Empty)} used, "
          + $"the newest of {m.Total} MR studies on record{(m.UndatedStudies > 0 ? $" ({m.UndatedStudies} without a date)" : string.Empty)}"
        : string.Empty;

    private static Evidence StudyEvidence(MriStudyFinding mri) =>
        new(mri.Reference, "MR study", mri.Description ?? (mri.SeriesCount == 1 ? "1 series" : $"{mri.SeriesCount} series"), mri.Started);

    /// <summary>
    /// The protocol window applies even when the images were read and found complete: a 4-phase study older than the window
    /// does not satisfy the criterion.
    /// </summary>
    private CriterionResult? MriOutsideWindow(PatientSnapshot s)
    {
        if (s.LatestMri is not { Started: { } started } mri)
        {
            return null;
        }

        var days = FhirRead.DaysBetween(started, s.EvaluatedAt);
        var window = _p.MriWindowDays;
        return days <= window
            ? null
            : Result(CriterionIds.Mri4Phase, CriterionStatus.Unknown,
                $"Latest MR study ({FhirRead.Day(started)}) is {days} days old: needed within {window} days{SelectionNote(s)}", [StudyEvidence(mri)], PerformMri);
    }

    /// <summary>
    /// Before the images are read the criterion is pending, never judged from the ImagingStudy's series count: one dynamic series may
    /// hold all four phases (issue 14 section 4, issue 15 item 5). What the record alone can say: no study, or one outside the window.
    /// </summary>
    private CriterionResult MriFromStudy(PatientSnapshot s)
    {
        const string id = CriterionIds.Mri4Phase;
        var window = _p.MriWindowDays;
        if (s.LatestMri is not { } mri)
        {
            return Unavailable(s, id, "imaging studies", "ImagingStudy")
                ?? Result(id, CriterionStatus.Unknown, "No MR study on record", null, PerformMri);
        }

        Evidence[] ev = [StudyEvidence(mri)];
        if (mri.Started is not { } started)
        {
            return Result(id, CriterionStatus.Pending, $"MR study without a date in the record: its date, phases and quality are checked when the images are read{SelectionNote(s)}", ev);
        }

        var days = FhirRead.DaysBetween(started, s.EvaluatedAt);
        var day = FhirRead.Day(started);
        if (days > window)
        {
            return Result(id, CriterionStatus.Unknown, $"Latest MR study ({day}) is {days} days old: needed within {window} days{SelectionNote(s)}", ev, PerformMri);
        }

        return Result(id, CriterionStatus.Pending, $"MR study {day} ({days} days old, within {window} days): phases and quality are checked when the images are read{SelectionNote(s)}", ev);
    }

    private static CriterionResult NonHccPathology(PatientSnapshot s)
    {
        const string id = CriterionIds.NonHccPathology;
        var confirmed = s.NonHccDiagnoses.Where(c => c.VerificationStatus is null or "confirmed").ToList();
        if (confirmed.Count > 0)
        {
            return Result(id, CriterionStatus.Fail, $"Non-HCC pathology recorded: {confirmed[0].Display}", confirmed.Select(c => c.ToEvidence("non-HCC diagnosis")));
        }

        if (s.NonHccDiagnoses.Count > 0)
        {
            var c = s.NonHccDiagnoses[0];
            return new CriterionResult(id, CriterionStatus.ToBeConfirmed, $"{c.Display} is {c.VerificationStatus}: pathology to confirm", [c.ToEvidence("non-HCC diagnosis")]);
        }

        if (s.OtherLiverCancers.Count > 0)
        {
            var c = s.OtherLiverCancers[0];
            return new CriterionResult(id, CriterionStatus.ToBeConfirmed, $"{c.Display} recorded: a liver cancer other than HCC, pathology to confirm",
                [.. s.OtherLiverCancers.Select(x => x.ToEvidence("other liver cancer"))]);
        }

        return Confirm(id, "Post-operative pathology pending: excludes cholangiocarcinoma or combined HCC-CCA");
    }

    private CriterionResult OtherMalignancy(PatientSnapshot s)
    {
        const string id = CriterionIds.OtherMalignancy;
        if (Unavailable(s, id, "other malignancies", "Condition") is { } u)
        {
            return u;
        }

        var ev = s.OtherMalignancies.Select(m => m.Condition.ToEvidence(m.Why)).ToList();
        var years = _p.MalignancyLookbackYears;
        if (s.OtherMalignancies.FirstOrDefault(m => m.Relevance == MalignancyRelevance.Counts) is { } counts)
        {
            return Result(id, CriterionStatus.Fail, $"Other malignancy within {years} years: {counts.Condition.Display} ({counts.Why})", ev);
        }

        if (s.OtherMalignancies.FirstOrDefault(m => m.Relevance == MalignancyRelevance.DateUnknown) is { } undated)
        {
            return Result(id, CriterionStatus.Unknown, $"{undated.Condition.Display}: {undated.Why}", ev,
                $"Record when {undated.Condition.Display} ended, to place it relative to the {years}-year window");
        }

        // The protocol's exception needs judgement outside its two named cases: never a pass that says "investigator to confirm".
        var judge = s.OtherMalignancies.Where(m => m.Relevance == MalignancyRelevance.ToConfirm).ToList();
        if (judge.Count > 0)
        {
            return new CriterionResult(id, CriterionStatus.ToBeConfirmed,
                $"To confirm: {string.Join("; ", judge.Select(m => $"{m.Condition.Display} ({m.Why})"))}", ev);
        }

        var excepted = s.OtherMalignancies.Where(m => m.Relevance != MalignancyRelevance.Counts).Select(m => $"{m.Condition.Display}: {m.Why}").ToList();
        return Result(id, CriterionStatus.Pass,
            $"No other malignancy within {years} years{(excepted.Count > 0 ? " (" + string.Join("; ", excepted) + ")" : string.Empty)}", ev);
    }

    private CriterionResult RegimenHypersensitivity(PatientSnapshot s)
    {
        const string id = CriterionIds.RegimenHypersensitivity;
        if (Unavailable(s, id, "allergies", "AllergyIntolerance") is { } u)
        {
            return u;
        }

        var ev = s.RegimenAllergies.Select(a => new Evidence(a.Reference, $"allergy ({a.DrugClass.Name}, by {a.MatchedBy})", a.Substance, null)).ToList();
        if (s.RegimenAllergies.FirstOrDefault(a => a.DrugClass.OnMatch == DrugMatchAction.Fail) is { } fail)
        {
            var drug = DrugName(fail.DrugClass.RegimenDrug);
            var cls = fail.DrugClass.Id == fail.DrugClass.RegimenDrug ? string.Empty : $", {fail.DrugClass.Name}";
            return Result(id, CriterionStatus.Fail, $"Hypersensitivity to regimen drug {drug}: allergy to {fail.Substance} (by {fail.MatchedBy}{cls})", ev);
        }

        if (s.RegimenAllergies.Count > 0)
        {
            var why = s.RegimenAllergies.Select(a => a.DrugClass.Id == a.DrugClass.RegimenDrug
                ? $"allergy to {a.Substance} ({a.DrugClass.Name}): whether it excludes from the regimen is for the investigator"
                : $"allergy to {a.Substance} ({a.DrugClass.Name}): possible cross-reactivity with {DrugName(a.DrugClass.RegimenDrug)}, not the same drug; investigator to assess");
            return new CriterionResult(id, CriterionStatus.ToBeConfirmed, UpperFirst(string.Join("; ", why)), ev);
        }

        return Result(id, CriterionStatus.Pass, $"No recorded allergy to {string.Join(", ", _p.RegimenDrugs.Select(DrugName))}");
    }

    private string DrugName(string regimenDrug) =>
        Data.ValueSets.DrugClasses.FirstOrDefault(c => c.Id == regimenDrug)?.Name ?? regimenDrug;

    private CriterionResult HeartFailure(PatientSnapshot s)
    {
        const string id = CriterionIds.HeartFailure;
        var nyha = s.Nyha;
        var cardiac = s.CardiacConditions.Where(c => c.Counts).ToList();
        var ev = s.HeartFailure.Select(c => c.ToEvidence("heart failure")).Concat(nyha.Evidence)
            .Concat(s.CardiacConditions.Select(c => c.Condition.ToEvidence(c.Kind))).ToList();
        string Roman(decimal v) => v switch { 1 => "I", 2 => "II", 3 => "III", 4 => "IV", _ => Num(v) };
        // "Uncontrolled cardiac disease" is wider than NYHA III-IV: recent MI, unstable angina, uncontrolled arrhythmia (clinical.md).
        var wider = cardiac.Count == 0 ? null : $"to confirm (uncontrolled cardiac disease?): {string.Join("; ", cardiac.Select(c => $"{c.Condition.Display}, {c.Why}"))}";

        CriterionResult WithCardiac(CriterionResult r) => wider is null ? r
            : r.Status == CriterionStatus.Pass ? new CriterionResult(id, CriterionStatus.ToBeConfirmed, $"{r.Reason}; {wider}", r.Evidence)
            : r with { Reason = $"{r.Reason}; also {wider}" };

        if (nyha.IsAvailable)
        {
            var cls = $"NYHA class {Roman(nyha.Value!.Value)} ({FhirRead.Day(nyha.Date!.Value)})";
            return nyha.Value >= 3
                ? Result(id, CriterionStatus.Fail, $"{cls}: protocol excludes NYHA III-IV heart failure", ev)
                : WithCardiac(Result(id, CriterionStatus.Pass, $"{cls}: protocol excludes only NYHA III-IV", ev));
        }

        // An out-of-date NYHA class is still a sign of heart failure: it asks for a current one rather than passing.
        if (nyha.State is ValueState.Conflicting or ValueState.Unusable or ValueState.Stale)
        {
            return WithCardiac(Result(id, CriterionStatus.Unknown, $"NYHA class {nyha.StateWord}: {nyha.Detail}", ev, $"Record the NYHA functional class (within {_p.Windows.Nyha} days)"));
        }

        if (s.HeartFailure.Count > 0)
        {
            return WithCardiac(Result(id, CriterionStatus.Unknown, $"Heart failure recorded ({s.HeartFailure[0].Display}) without a NYHA class", ev,
                $"Record the NYHA functional class (within {_p.Windows.Nyha} days)"));
        }

        return Unavailable(s, id, "heart failure", "Condition")
            ?? WithCardiac(Result(id, CriterionStatus.Pass, "No heart failure recorded", ev));
    }

    private CriterionResult Renal(PatientSnapshot s)
    {
        const string id = CriterionIds.SevereRenalDysfunction;
        var limit = _p.RenalSevereBelow;
        var egfr = s.Egfr;
        var cr = s.Creatinine;
        var ev = egfr.Evidence.Concat(cr.Evidence).Concat(s.SevereKidneyDisease.Select(c => c.ToEvidence("chronic kidney disease"))).ToList();
        var rule = $"protocol excludes eGFR < {Num(limit)} (severe renal dysfunction)";
        if (egfr.IsAvailable)
        {
            var text = $"eGFR {Num(egfr.Value!.Value)} {ClinicalUnits.Display(Analyte.Egfr)} ({FhirRead.Day(egfr.Date!.Value)})";
            return egfr.Value < limit ? Result(id, CriterionStatus.Fail, $"{text}: {rule}", ev) : Result(id, CriterionStatus.Pass, $"{text}: not below {Num(limit)}", ev);
        }

        // A measured eGFR that conflicts is not overridden by a derived one.
        if (egfr.State != ValueState.Conflicting && cr.IsAvailable && s.Age.Years is { } age && s.SexMale is { } male)
        {
            var mgPerDl = (double)(cr.Value!.Value / 88.4m);
            var derived = (decimal)Math.Round(CkdEpi.Egfr2021(mgPerDl, age, male), 1);
            var text = $"eGFR {Num(derived)} {ClinicalUnits.Display(Analyte.Egfr)} (derived, CKD-EPI 2021 from creatinine {cr.Detail})";
            return derived < limit ? Result(id, CriterionStatus.Fail, $"{text}: {rule}", ev) : Result(id, CriterionStatus.Pass, $"{text}: not below {Num(limit)}", ev);
        }

        if (egfr.State == ValueState.Missing && cr.State == ValueState.Missing && s.SevereKidneyDisease.Count > 0)
        {
            return Result(id, CriterionStatus.Fail, $"{s.SevereKidneyDisease[0].Display} recorded (no recent eGFR): {rule}", ev);
        }

        var why = egfr.State == ValueState.Missing && cr.State != ValueState.Missing ? cr.Describe() : egfr.Describe();
        return Result(id, CriterionStatus.Unknown, $"Renal function unknown: {why}", ev, $"Record creatinine or eGFR (within {_p.Windows.Labs} days)");
    }

    private CriterionResult Hypertension(PatientSnapshot s)
    {
        const string id = CriterionIds.UncontrolledHypertension;
        var n = _p.HypertensionReadings;
        var limit = $"{Num(_p.SystolicAtLeast)} systolic or {Num(_p.DiastolicAtLeast)} diastolic mmHg";
        var readings = s.BloodPressure.Take(n).ToList();
        var ev = readings.Select(r => new Evidence(r.Reference, "blood pressure", r.Display, r.Date)).ToList();
        ev.AddRange(s.Hypertension.Select(c => c.ToEvidence("hypertension")));
        bool High(BloodPressureReading r) => r.Systolic >= _p.SystolicAtLeast || r.Diastolic >= _p.DiastolicAtLeast;
        string List(IEnumerable<BloodPressureReading> rs) => string.Join(", ", rs.Select(r => $"{r.Display} ({FhirRead.Day(r.Date)})"));

        if (readings.Count == 0)
        {
            var old = s.LatestBloodPressureOutsideWindow is { } o ? $"; latest {o.Display} on {FhirRead.Day(o.Date)} is out of date" : string.Empty;
            old += s.UnusableBloodPressure is { } bad ? $"; {bad}" : string.Empty;
            return Result(id, CriterionStatus.Unknown, $"No blood pressure within {_p.Windows.BloodPressure} days{old}", ev,
                $"Record blood pressure ({n} readings within {_p.Windows.BloodPressure} days)");
        }

        if (readings.Count == n && readings.All(High))
        {
            return Result(id, CriterionStatus.Fail, $"Latest {n} readings at or above {limit}: {List(readings)}", ev);
        }

        if (readings.Count < n && High(readings[0]))
        {
            return Result(id, CriterionStatus.Unknown, $"Only {readings.Count} reading within {_p.Windows.BloodPressure} days, at or above {limit}: {List(readings)}", ev,
                $"Repeat blood pressure ({n} readings within {_p.Windows.BloodPressure} days)");
        }

        return Result(id, CriterionStatus.Pass, $"Latest readings not all at or above {limit}: {List(readings)}", ev);
    }
}
