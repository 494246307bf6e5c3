using CdsRisk.Core.Eligibility;
using CdsRisk.Core.Patients;
using Hl7.Fhir.Model;
using Evidence = CdsRisk.Core.Eligibility.Evidence;

namespace CdsRisk.Core.FollowUp;

/// <summary>
/// After enrolment (issue 17): who is on study, the follow-up schedule anchored on the resection, safety signals during protocol
/// therapy with their CTCAE v5.0 grade, and the two exclusion criteria only surgery can settle. Pure: the record and a date in,
/// a <see cref="FollowUpResult"/> out.
/// </summary>
public sealed class FollowUpEngine(EligibilityData data)
{
    private readonly FollowUpSettings _s = data.FollowUp;
    private readonly ValueSets _sets = data.ValueSets;

    // R4 ResearchSubject.status (http://hl7.org/fhir/R4/valueset-research-subject-status.html): the four codes that mean the subject
    // is in the study now; withdrawn and off-study mean they have left it. Every other code is a screening state.
    private static readonly HashSet<ResearchSubject.ResearchSubjectStatus> OnStudyStatuses =
    [
        ResearchSubject.ResearchSubjectStatus.OnStudy,
        ResearchSubject.ResearchSubjectStatus.OnStudyIntervention,
        ResearchSubject.ResearchSubjectStatus.OnStudyObservation,
        ResearchSubject.ResearchSubjectStatus.FollowUp,
    ];

    private static readonly HashSet<ResearchSubject.ResearchSubjectStatus> LeftStudyStatuses =
    [
        ResearchSubject.ResearchSubjectStatus.Withdrawn,
        ResearchSubject.ResearchSubjectStatus.OffStudy,
    ];

    public FollowUpSettings Settings => _s;

    /// <summary>
    /// The patient's place in the trial. A ResearchSubject is for this trial when its <c>study</c> is one of
    /// <paramref name="studyReferences"/> (the ResearchStudy ids the site configured, e.g. <c>ResearchStudy/nct07282184</c>), or names
    /// a ResearchStudy (read with the record, or contained) whose identifier is the trial's registration (system
    /// http(s)://clinicaltrials.gov, value NCT07282184), or carries that identifier on the reference itself. A subject of any other
    /// study, or of a study that could not be read, is not the trial's. On study wins over an older withdrawal.
    /// </summary>
    public Enrolment Enrolment(PatientRecord record, IReadOnlyCollection<string> studyReferences)
    {
        var mine = record.ResearchSubjects.Where(rs => IsTrialStudy(rs, record.ResearchStudies, studyReferences)).ToList();
        var on = mine.Where(rs => rs.Status is { } st && OnStudyStatuses.Contains(st)).OrderByDescending(Start).FirstOrDefault();
        if (on is not null)
        {
            return new Enrolment(EnrolmentState.OnStudy, FhirRead.Ref(on), on.StatusElement?.JsonValue as string) { Since = Start(on) };
        }

        var off = mine.FirstOrDefault(rs => rs.Status is { } st && LeftStudyStatuses.Contains(st));
        return off is null ? FollowUp.Enrolment.None : new Enrolment(EnrolmentState.OffStudy, FhirRead.Ref(off), off.StatusElement?.JsonValue as string);
    }

    private static DateTimeOffset? Start(ResearchSubject rs) => FhirRead.Parse(rs.Period?.StartElement);

    private bool IsTrialStudy(ResearchSubject rs, IReadOnlyList<ResearchStudy> studies, IReadOnlyCollection<string> studyReferences)
    {
        var study = rs.Study;
        if (study is null)
        {
            return false;
        }

        if (IsTrialIdentifier(study.Identifier))
        {
            return true;
        }

        var reference = study.Reference;
        if (string.IsNullOrEmpty(reference))
        {
            return false;
        }

        // The site's configured study: its word is enough (the reference is checked, not the study's identifier).
        if (FhirReferences.IdOf(reference, "ResearchStudy") is { } id && studyReferences.Any(r => string.Equals(FhirReferences.IdOf(r, "ResearchStudy"), id, StringComparison.Ordinal)))
        {
            return true;
        }

        return FhirReferences.Study(rs, studies) is { } read && read.Identifier.Any(IsTrialIdentifier);
    }

    // The trial's registration: NCT07282184 at ClinicalTrials.gov (both spellings of its system are in use); a Reference.identifier
    // or a ResearchStudy.identifier without a system is read by its value, which is unique to ClinicalTrials.gov's NCT numbers.
    private static readonly HashSet<string> RegistrySystems = new(["http://clinicaltrials.gov", "https://clinicaltrials.gov", "http://clinicaltrials.gov/", "https://clinicaltrials.gov/"], StringComparer.OrdinalIgnoreCase);

    private bool IsTrialIdentifier(Identifier? identifier) =>
        identifier?.Value is { } v && string.Equals(v.Trim(), data.Protocol.ProtocolId, StringComparison.OrdinalIgnoreCase)
        && (identifier.System is null || RegistrySystems.Contains(identifier.System));

    /// <summary>The follow-up picture of an on-study patient on <paramref name="at"/>.</summary>
    public FollowUpResult Evaluate(PatientRecord record, PatientSnapshot snapshot, Enrolment enrolment, DateTimeOffset at)
    {
        var anchor = Anchor(record, enrolment, at);
        var today = Day(at);
        var therapy = CurrentRegimenDrugs(record, at);
        var items = new List<FollowUpItem>();
        if (anchor is { } a)
        {
            items.AddRange(Schedule(record, Day(a.Date!.Value), today));
        }

        items.AddRange(CycleLabs(record, today));
        return new FollowUpResult
        {
            Enrolment = enrolment,
            EvaluatedAt = at,
            Anchor = anchor,
            Items = items,
            OnProtocolTherapy = therapy.Count > 0,
            Signals = therapy.Count > 0 ? Signals(record, snapshot, therapy, at) : [],
            Exclusions = [NonHccPathology(record, anchor), EarlyDeathOrLoss(record, anchor, at)],
        };
    }

    // ---- the anchor and the schedule ----

    /// <summary>
    /// The completed liver resection: the first one on or after the ResearchSubject's start when it has one (a later re-resection
    /// does not restart the trial's calendar), else the latest one on record.
    /// </summary>
    private Evidence? Anchor(PatientRecord record, Enrolment enrolment, DateTimeOffset at)
    {
        var done = record.Procedures
            .Where(p => p.Status == EventStatus.Completed && _sets["liver-resection"].Matches(p.Code))
            .Select(p => (Procedure: p, Date: FhirRead.Date(p.Performed)))
            .Where(x => x.Date is { } d && d <= at)
            .OrderBy(x => x.Date)
            .ToList();
        if (done.Count == 0)
        {
            return null;
        }

        var chosen = enrolment.Since is { } since && done.FirstOrDefault(x => Day(x.Date!.Value) >= Day(since)) is { Procedure: not null } first
            ? first
            : done[^1];
        return new Evidence(FhirRead.Ref(chosen.Procedure), "completed liver resection: " + FhirRead.Display(chosen.Procedure.Code), null, chosen.Date);
    }

    private IEnumerable<FollowUpItem> Schedule(PatientRecord record, DateOnly anchor, DateOnly today)
    {
        for (var month = _s.IntervalMonths; month <= _s.DurationMonths; month += _s.IntervalMonths)
        {
            var due = anchor.AddMonths(month);
            var from = due.AddDays(-_s.WindowDays);
            var to = due.AddDays(_s.WindowDays);
            foreach (var item in _s.Items)
            {
                var evidence = item.Id switch
                {
                    "imaging" => LiverImaging(record, from, to),
                    "afp" => Labs(record, "obs-afp", from, to),
                    _ => LiverFunction(record, from, to),
                };
                yield return new FollowUpItem($"m{month}-{item.Id}", $"{item.What} (month {month})", due, from, to, Status(evidence, from, to, today), evidence);
            }
        }
    }

    private static FollowUpItemStatus Status(IReadOnlyList<Evidence> evidence, DateOnly from, DateOnly to, DateOnly today) =>
        evidence.Count > 0 ? FollowUpItemStatus.Done
        : today > to ? FollowUpItemStatus.Overdue
        : today >= from ? FollowUpItemStatus.Due
        : FollowUpItemStatus.Upcoming;

    private static List<Evidence> LiverImaging(PatientRecord record, DateOnly from, DateOnly to)
    {
        var found = new List<Evidence>();
        foreach (var s in record.ImagingStudies)
        {
            if (s.Status is ImagingStudy.ImagingStudyStatus.EnteredInError or ImagingStudy.ImagingStudyStatus.Cancelled or ImagingStudy.ImagingStudyStatus.Registered)
            {
                continue;
            }

            var modality = s.Modality.Concat(s.Series.Select(x => x.Modality)).Select(m => m?.Code).FirstOrDefault(c => c is "MR" or "CT");
            if (modality is not null && FhirRead.Parse(s.StartedElement) is { } started && Day(started) >= from && Day(started) <= to)
            {
                found.Add(new Evidence(FhirRead.Ref(s), $"{modality} study" + (s.Description is { Length: > 0 } d ? ": " + d : ""), null, started));
            }
        }

        return found;
    }

    private List<Evidence> Labs(PatientRecord record, string valueSet, DateOnly from, DateOnly to) =>
        [.. Dated(record, valueSet).Where(o => Day(o.Date) >= from && Day(o.Date) <= to).Select(o => o.ToEvidence())];

    /// <summary>Liver function tests count as done when a bilirubin and an ALT or AST are on record in the window.</summary>
    private List<Evidence> LiverFunction(PatientRecord record, DateOnly from, DateOnly to)
    {
        var bilirubin = Labs(record, "obs-bilirubin", from, to);
        var enzymes = Labs(record, "obs-alt", from, to).Concat(Labs(record, "obs-ast", from, to)).ToList();
        return bilirubin.Count > 0 && enzymes.Count > 0 ? [.. bilirubin, .. enzymes] : [];
    }

    /// <summary>
    /// Labs before each cycle. A cycle is a day a cycle drug (intravenous regimen drugs; lenvatinib is taken daily and has none)
    /// was administered (MedicationAdministration completed or in progress), or is planned (an active MedicationRequest's
    /// dosageInstruction.timing.event); administrations within <c>cycleGapDays</c> of a cycle's first day belong to it. The labs
    /// (a blood count and a liver function test) count when on record in the <c>daysBefore</c> days up to the cycle day.
    /// </summary>
    private IEnumerable<FollowUpItem> CycleLabs(PatientRecord record, DateOnly today)
    {
        var given = record.MedicationAdministrations
            .Where(m => m.Status is MedicationAdministration.MedicationAdministrationStatusCodes.Completed or MedicationAdministration.MedicationAdministrationStatusCodes.InProgress)
            .Where(m => IsCycleDrug(FhirReferences.MedicationCode(m.Medication, m, record.Medications)))
            .Select(m => FhirRead.Date(m.Effective))
            .OfType<DateTimeOffset>()
            .Select(Day);
        var planned = record.MedicationRequests
            .Where(r => r.Status == MedicationRequest.MedicationrequestStatus.Active && IsCycleDrug(FhirReferences.MedicationCode(r.Medication, r, record.Medications)))
            .SelectMany(r => r.DosageInstruction.SelectMany(d => d.Timing?.EventElement ?? []))
            .Select(e => FhirRead.Parse(e))
            .OfType<DateTimeOffset>()
            .Select(Day)
            .Where(d => d > today);
        var starts = new List<DateOnly>();
        foreach (var day in given.Concat(planned).Distinct().Order())
        {
            if (starts.Count == 0 || day.DayNumber - starts[^1].DayNumber >= _s.CycleGapDays)
            {
                starts.Add(day);
            }
        }

        for (var n = 0; n < starts.Count; n++)
        {
            var cycle = starts[n];
            var from = cycle.AddDays(-_s.PreCycleDaysBefore);
            var counts = Labs(record, "obs-platelets", from, cycle).Concat(Labs(record, "obs-neutrophils", from, cycle)).ToList();
            var liver = Labs(record, "obs-bilirubin", from, cycle).Concat(Labs(record, "obs-alt", from, cycle)).Concat(Labs(record, "obs-ast", from, cycle)).ToList();
            List<Evidence> evidence = counts.Count > 0 && liver.Count > 0 ? [.. counts, .. liver] : [];
            // The window closes on the cycle day: labs not on record by then are overdue.
            yield return new FollowUpItem($"cycle-{n + 1}-labs", $"blood count and liver function tests before cycle {n + 1}", cycle, from, cycle,
                Status(evidence, from, cycle, today), evidence);
        }
    }

    private IEnumerable<DrugClass> RegimenClasses => _sets.DrugClasses.Where(c => c.Id == c.RegimenDrug);

    private string? RegimenDrug(CodeableConcept? concept) =>
        concept is null ? null : RegimenClasses.FirstOrDefault(c => c.Match(concept) is not null)?.RegimenDrug;

    private bool IsCycleDrug(CodeableConcept? concept) => RegimenDrug(concept) is { } d && _s.CycleDrugs.Contains(d);

    /// <summary>
    /// The regimen drugs the patient is on now: administered within <c>therapyLookbackDays</c>, or an active MedicationRequest or
    /// MedicationStatement. Empty: not on protocol therapy, and no signal is read.
    /// </summary>
    private HashSet<string> CurrentRegimenDrugs(PatientRecord record, DateTimeOffset at)
    {
        var drugs = new HashSet<string>(StringComparer.Ordinal);
        foreach (var m in record.MedicationAdministrations)
        {
            if (m.Status is MedicationAdministration.MedicationAdministrationStatusCodes.Completed or MedicationAdministration.MedicationAdministrationStatusCodes.InProgress
                && FhirRead.Date(m.Effective) is { } d && d <= at && FhirRead.DaysBetween(d, at) <= _s.TherapyLookbackDays
                && RegimenDrug(FhirReferences.MedicationCode(m.Medication, m, record.Medications)) is { } drug)
            {
                drugs.Add(drug);
            }
        }

        foreach (var r in record.MedicationRequests.Where(r => r.Status == MedicationRequest.MedicationrequestStatus.Active))
        {
            if (RegimenDrug(FhirReferences.MedicationCode(r.Medication, r, record.Medications)) is { } drug)
            {
                drugs.Add(drug);
            }
        }

        foreach (var s in record.MedicationStatements.Where(s => s.Status == MedicationStatement.MedicationStatusCodes.Active))
        {
            if (RegimenDrug(FhirReferences.MedicationCode(s.Medication, s, record.Medications)) is { } drug)
            {
                drugs.Add(drug);
            }
        }

        return drugs;
    }

    // ---- safety signals ----

    private List<SafetySignal> Signals(PatientRecord record, PatientSnapshot snapshot, HashSet<string> therapy, DateTimeOffset at)
    {
        var signals = new List<SafetySignal>();
        DatedObservation? Latest(string set) => Dated(record, set)
            .Where(o => o.Date <= at && FhirRead.DaysBetween(o.Date, at) <= _s.SignalLookbackDays)
            .OrderByDescending(o => o.Date).FirstOrDefault();

        Add(signals, Ctcae.Aminotransferase("alt-increased", "Alanine aminotransferase increased", "ALT", Latest("obs-alt"), _s.AltUln, _s.AminotransferaseUlnMultiple));
        Add(signals, Ctcae.Aminotransferase("ast-increased", "Aspartate aminotransferase increased", "AST", Latest("obs-ast"), _s.AstUln, _s.AminotransferaseUlnMultiple));
        Add(signals, Ctcae.Bilirubin(Latest("obs-bilirubin"), _s.BilirubinUln, _s.BilirubinUlnMultiple));
        Add(signals, Ctcae.Neutrophils(Latest("obs-neutrophils"), _s.NeutrophilsBelow));
        Add(signals, Ctcae.Platelets(Latest("obs-platelets"), _s.PlateletsBelow));
        if (therapy.Contains("lenvatinib"))
        {
            var bp = snapshot.BloodPressure.Where(b => b.Date <= at && FhirRead.DaysBetween(b.Date, at) <= _s.SignalLookbackDays).OrderByDescending(b => b.Date).FirstOrDefault();
            Add(signals, Ctcae.Hypertension(bp, _s.SystolicAtLeast, _s.DiastolicAtLeast));
            Add(signals, Ctcae.Proteinuria(Latest("obs-urine-protein-24h"), Latest("obs-urine-protein-dipstick"), _s.ProteinuriaGramsPerDayAtLeast));
        }

        if (therapy.Contains("pd-1-inhibitor"))
        {
            Add(signals, Ctcae.Thyroid(Latest("obs-tsh"), _s.TshLow, _s.TshHigh));
        }

        return signals;
    }

    private static void Add(List<SafetySignal> signals, SafetySignal? signal)
    {
        if (signal is not null)
        {
            signals.Add(signal);
        }
    }

    // ---- the post-operative exclusion criteria ----

    private CriterionResult NonHccPathology(PatientRecord record, Evidence? anchor)
    {
        const string id = CriterionIds.NonHccPathology;
        if (anchor?.Date is not { } surgery)
        {
            return new CriterionResult(id, CriterionStatus.ToBeConfirmed, "No completed liver resection on record: post-operative pathology not yet available", []);
        }

        bool NonHcc(CodeableConcept? c) => _sets["cholangiocarcinoma"].Matches(c) || _sets["liver-malignancy-non-hcc"].Matches(c);
        var found = new List<Evidence>();
        foreach (var c in record.Conditions.Where(FhirRead.IsRecorded))
        {
            if (NonHcc(c.Code) && (FhirRead.Date(c.Onset) ?? FhirRead.ParseString(c.RecordedDate)) is { } d && Day(d) >= Day(surgery))
            {
                found.Add(new Evidence(FhirRead.Ref(c), "diagnosis after the resection: " + FhirRead.Display(c.Code), null, d));
            }
        }

        var reports = Dated(record, "obs-pathology-diagnosis").Where(o => Day(o.Date) >= Day(surgery)).ToList();
        foreach (var r in reports)
        {
            var value = r.Observation.Value switch
            {
                CodeableConcept cc => cc,
                FhirString s => new CodeableConcept { Text = s.Value },
                _ => null,
            };
            if (NonHcc(value))
            {
                found.Add(new Evidence(r.Reference, "post-operative pathology: " + FhirRead.Display(value), null, r.Date));
            }
        }

        if (found.Count > 0)
        {
            return new CriterionResult(id, CriterionStatus.Fail, "Post-operative pathology shows a non-HCC malignancy: exclusion criterion 'non-HCC pathology' is met", found);
        }

        return reports.Count > 0
            ? new CriterionResult(id, CriterionStatus.Pass, "Post-operative pathology on record shows no non-HCC malignancy", [.. reports.Select(r => r.ToEvidence())])
            : new CriterionResult(id, CriterionStatus.ToBeConfirmed, "No post-operative pathology report on record yet", [anchor]);
    }

    private CriterionResult EarlyDeathOrLoss(PatientRecord record, Evidence? anchor, DateTimeOffset at)
    {
        const string id = CriterionIds.EarlyDeathOrLoss;
        var days = _s.PostOperativeDays;
        if (anchor?.Date is not { } surgery)
        {
            return new CriterionResult(id, CriterionStatus.ToBeConfirmed, $"No completed liver resection on record: death or loss within {days} days after surgery is known only after it", []);
        }

        var patient = record.Patient;
        var patientRef = "Patient/" + patient.Id;
        var end = Day(surgery).AddDays(days);
        switch (patient.Deceased)
        {
            case FhirDateTime dt when FhirRead.Parse(dt) is { } died:
                var day = Day(died).DayNumber - Day(surgery).DayNumber;
                var death = new Evidence(patientRef, "Patient.deceasedDateTime", FhirRead.Day(died), died);
                return day <= days
                    ? new CriterionResult(id, CriterionStatus.Fail, $"Death on day {day} after surgery: 'early death or loss' within {days} days is settled (met)", [death, anchor])
                    : new CriterionResult(id, CriterionStatus.Pass, $"Death recorded on day {day} after surgery, after the {days}-day period: 'early death or loss' is settled (not met)", [death, anchor]);
            case FhirBoolean { Value: true }:
                return new CriterionResult(id, CriterionStatus.ToBeConfirmed, $"Recorded as deceased without a date: whether within {days} days after surgery is for the trial team to confirm",
                    [new Evidence(patientRef, "Patient.deceasedBoolean", "true"), anchor]);
        }

        var contacts = Contacts(record, anchor.Reference).Where(c => Day(c.Date!.Value) > Day(surgery) && Day(c.Date!.Value) <= end).OrderByDescending(c => c.Date).ToList();
        if (Day(at) < end)
        {
            return new CriterionResult(id, CriterionStatus.ToBeConfirmed,
                $"Day {Day(at).DayNumber - Day(surgery).DayNumber} of {days} after surgery: settled on {end:yyyy-MM-dd}", [anchor, .. contacts.Take(1)]);
        }

        return contacts.Count == 0
            ? new CriterionResult(id, CriterionStatus.Fail, $"No contact on record within {days} days after surgery: 'early death or loss' is settled (met: lost to follow-up)", [anchor])
            : new CriterionResult(id, CriterionStatus.Pass, $"Alive and in contact within {days} days after surgery: 'early death or loss' is settled (not met)", [anchor, contacts[0]]);
    }

    /// <summary>
    /// A contact is a dated entry of the patient's own record: an Observation, a completed Procedure other than the resection, an
    /// ImagingStudy, a MedicationAdministration, or an Appointment the patient attended (arrived, checked-in, fulfilled).
    /// </summary>
    private static IEnumerable<Evidence> Contacts(PatientRecord record, string? resection)
    {
        foreach (var o in record.Observations.Where(FhirRead.IsUsable))
        {
            if (FhirRead.EffectiveDate(o) is { } d)
            {
                yield return new Evidence(FhirRead.Ref(o), "observation: " + FhirRead.Display(o.Code), null, d);
            }
        }

        foreach (var p in record.Procedures.Where(p => p.Status == EventStatus.Completed && FhirRead.Ref(p) != resection))
        {
            if (FhirRead.Date(p.Performed) is { } d)
            {
                yield return new Evidence(FhirRead.Ref(p), "procedure: " + FhirRead.Display(p.Code), null, d);
            }
        }

        foreach (var s in record.ImagingStudies)
        {
            if (FhirRead.Parse(s.StartedElement) is { } d)
            {
                yield return new Evidence(FhirRead.Ref(s), "imaging study", null, d);
            }
        }

        foreach (var m in record.MedicationAdministrations)
        {
            if (FhirRead.Date(m.Effective) is { } d)
            {
                yield return new Evidence(FhirRead.Ref(m), "medication administration", null, d);
            }
        }

        foreach (var a in record.Appointments.Where(a => a.Status is Appointment.AppointmentStatus.Arrived or Appointment.AppointmentStatus.CheckedIn or Appointment.AppointmentStatus.Fulfilled))
        {
            if (a.Start is { } d)
            {
                yield return new Evidence(FhirRead.Ref(a), "attended appointment", null, d);
            }
        }
    }

    // ---- reading ----

    private IEnumerable<DatedObservation> Dated(PatientRecord record, string valueSet)
    {
        var set = _sets[valueSet];
        foreach (var o in record.Observations)
        {
            if (FhirRead.IsUsable(o) && set.MatchesCode(o.Code) && FhirRead.EffectiveDate(o) is { } d)
            {
                yield return new DatedObservation(o, d);
            }
        }
    }

    internal static DateOnly Day(DateTimeOffset d) => DateOnly.FromDateTime(d.DateTime);
}

/// <summary>An Observation with the date it was taken.</summary>
public sealed record DatedObservation(Observation Observation, DateTimeOffset Date)
{
    public string Reference => FhirRead.Ref(Observation);

    public Evidence ToEvidence() => new(Reference, FhirRead.Display(Observation.Code), Observation.Value is Quantity q ? Ctcae.Show(q) : null, Date);
}
