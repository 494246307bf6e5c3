using System.Globalization;
using System.Text.RegularExpressions;
using CdsRisk.Core.Eligibility;
using CdsRisk.Core.Scores;
using Hl7.Fhir.Model;
using Evidence = CdsRisk.Core.Eligibility.Evidence;
using ValueSet = CdsRisk.Core.Eligibility.ValueSet;

namespace CdsRisk.Core.Patients;

/// <summary>Builds a <see cref="PatientSnapshot"/> from FHIR resources. Thread-safe: all state is read-only after construction.</summary>
public sealed partial class PatientSnapshotBuilder
{
    internal const string BclcStages = "0ABCD";

    private enum Kind
    {
        Bilirubin, Albumin, Inr, Creatinine, Egfr, Afp, Platelets, TumourSize, TumourCount, Ecog,
        BpPanel, BpSystolic, BpDiastolic, Nyha, Ascites, Encephalopathy, Bclc,
    }

    private static readonly int KindCount = Enum.GetValues<Kind>().Length;

    private readonly ProtocolSettings _protocol;
    private readonly ValueSets _sets;
    private readonly Dictionary<(string System, string Code), Kind> _observationKinds = [];

    public PatientSnapshotBuilder(EligibilityData data)
    {
        _protocol = data.Protocol;
        _sets = data.ValueSets;
        (string Set, Kind Kind)[] map =
        [
            ("obs-bilirubin", Kind.Bilirubin), ("obs-albumin", Kind.Albumin), ("obs-inr", Kind.Inr), ("obs-creatinine", Kind.Creatinine),
            ("obs-egfr", Kind.Egfr), ("obs-afp", Kind.Afp), ("obs-platelets", Kind.Platelets), ("obs-tumour-size", Kind.TumourSize),
            ("obs-tumour-count", Kind.TumourCount), ("obs-ecog", Kind.Ecog), ("obs-bp-panel", Kind.BpPanel), ("obs-bp-systolic", Kind.BpSystolic),
            ("obs-bp-diastolic", Kind.BpDiastolic), ("obs-nyha", Kind.Nyha), ("obs-ascites", Kind.Ascites),
            ("obs-encephalopathy", Kind.Encephalopathy), ("obs-bclc-stage", Kind.Bclc),
        ];
        foreach (var (set, kind) in map)
        {
            foreach (var c in _sets[set].Codes)
            {
                _observationKinds[(c.System, c.Code)] = kind;
            }
        }
    }

    private readonly record struct Dated(Observation Observation, DateTimeOffset Date);

    /// <summary>A value read from one Observation: canonical value, how it was written, or why it cannot be used.</summary>
    private readonly record struct Reading(decimal? Value, string Source, string? Problem);

    public PatientSnapshot Build(PatientRecord record, DateTimeOffset evaluatedAt)
    {
        var buckets = new List<Dated>[KindCount];
        for (var i = 0; i < KindCount; i++)
        {
            buckets[i] = [];
        }

        // Data stamped after the evaluation time is not yet known at that time (a few minutes of clock skew allowed).
        var latestAllowed = evaluatedAt.AddMinutes(5);
        foreach (var o in record.Observations)
        {
            if (!FhirRead.IsUsable(o) || Classify(o) is not { } kind || FhirRead.EffectiveDate(o) is not { } date || date > latestAllowed)
            {
                continue;
            }

            buckets[(int)kind].Add(new Dated(o, date));
        }

        foreach (var b in buckets)
        {
            b.Sort((x, y) => y.Date.CompareTo(x.Date));
        }

        List<Dated> B(Kind k) => buckets[(int)k];
        var w = _protocol.Windows;
        var conditions = record.Conditions.Where(FhirRead.IsRecorded).ToList();

        var bilirubin = SelectQuantity("bilirubin", Analyte.Bilirubin, B(Kind.Bilirubin), w.Labs, evaluatedAt);
        var albumin = SelectQuantity("albumin", Analyte.Albumin, B(Kind.Albumin), w.Labs, evaluatedAt);
        var inr = SelectQuantity("INR", Analyte.Inr, B(Kind.Inr), w.Labs, evaluatedAt);
        var ascites = AscitesOrCondition(B(Kind.Ascites), conditions, evaluatedAt);
        var encephalopathy = EncephalopathyOrCondition(B(Kind.Encephalopathy), conditions, evaluatedAt);
        var childPugh = ChildPugh.Calculate(
            bilirubin.IsAvailable ? bilirubin.Value : null,
            albumin.IsAvailable ? albumin.Value : null,
            inr.IsAvailable ? inr.Value : null,
            ascites.IsAvailable ? (int)ascites.Value!.Value : null,
            encephalopathy.IsAvailable ? (int)encephalopathy.Value!.Value : null);

        var liver = SplitLiverCancers(conditions);
        var (hcc, hccCondition) = ChooseHcc(liver.Hcc, liver.Unspecified);
        var resections = Resections(record, evaluatedAt);
        var bclcObservation = Select("BCLC stage (Observation)", string.Empty, B(Kind.Bclc), w.BclcObservation, evaluatedAt, ReadBclc);
        var (bpInWindow, bpOld, bpUnusable) = BloodPressureReadings(B(Kind.BpPanel), B(Kind.BpSystolic), B(Kind.BpDiastolic), w.BloodPressure, evaluatedAt);

        return new PatientSnapshot
        {
            EvaluatedAt = evaluatedAt,
            PatientReference = FhirRead.Ref(record.Patient),
            Age = AgeOf(record.Patient, evaluatedAt),
            SexMale = record.Patient.Gender switch
            {
                AdministrativeGender.Male => true,
                AdministrativeGender.Female => false,
                _ => null,
            },
            Hcc = hcc,
            RecordedBclc = RecordedBclc(hccCondition, bclcObservation),
            BclcObservation = bclcObservation,
            TumourSizeCm = SelectQuantity("largest tumour size", Analyte.TumourSize, B(Kind.TumourSize), w.TumourMeasurements, evaluatedAt),
            TumourCount = Select("tumour count", string.Empty, B(Kind.TumourCount), w.TumourMeasurements, evaluatedAt, ReadCount),
            Bilirubin = bilirubin,
            Albumin = albumin,
            Inr = inr,
            Creatinine = SelectQuantity("creatinine", Analyte.Creatinine, B(Kind.Creatinine), w.Labs, evaluatedAt),
            Egfr = SelectQuantity("eGFR", Analyte.Egfr, B(Kind.Egfr), w.Labs, evaluatedAt),
            Afp = SelectQuantity("AFP", Analyte.Afp, B(Kind.Afp), w.Labs, evaluatedAt),
            Platelets = SelectQuantity("platelets", Analyte.Platelets, B(Kind.Platelets), w.Labs, evaluatedAt),
            AscitesGrade = ascites,
            EncephalopathyGrade = encephalopathy,
            ChildPugh = childPugh,
            Albi = bilirubin.IsAvailable && albumin.IsAvailable && bilirubin.Value > 0 ? Albi.Calculate(bilirubin.Value!.Value, albumin.Value!.Value) : null,
            Ecog = Select("ECOG", string.Empty, B(Kind.Ecog), w.Ecog, evaluatedAt, o => ReadCoded(o, "ecog-grade", allowInteger: true)),
            HeartFailure = Findings(conditions, "heart-failure", activeOnly: true),
            Nyha = Select("NYHA class", string.Empty, B(Kind.Nyha), w.Nyha, evaluatedAt, o => ReadCoded(o, "nyha-class", allowInteger: true)),
            SevereKidneyDisease = Findings(conditions, "ckd-severe", activeOnly: true),
            BloodPressure = bpInWindow,
            LatestBloodPressureOutsideWindow = bpOld,
            UnusableBloodPressure = bpUnusable,
            Hypertension = Findings(conditions, "hypertension", activeOnly: true),
            NonHccDiagnoses = liver.NonHcc,
            OtherLiverCancers = liver.OtherPrimary,
            ExtrahepaticSpread = Findings(conditions, "malignancy-secondary", activeOnly: true, except: IsLiverCancer),
            VascularInvasion = Findings(conditions, "vascular-invasion", activeOnly: true),
            CardiacConditions = CardiacConditions(conditions, evaluatedAt),
            OtherMalignancies = OtherMalignancies(conditions, evaluatedAt),
            RegimenAllergies = RegimenAllergies(record.Allergies),
            Resections = resections,
            Mri = SelectMri(record.ImagingStudies, latestAllowed, evaluatedAt, resections),
            UnavailableData = record.UnavailableData,
        };
    }

    private Kind? Classify(Observation o)
    {
        foreach (var c in o.Code?.Coding ?? [])
        {
            if (c.System is not null && c.Code is not null && _observationKinds.TryGetValue((c.System, c.Code), out var k))
            {
                return k;
            }
        }

        return null;
    }

    private static AgeFinding AgeOf(Patient patient, DateTimeOffset evaluatedAt)
    {
        var text = patient.BirthDate;
        var on = DateOnly.FromDateTime(evaluatedAt.DateTime);
        if (string.IsNullOrWhiteSpace(text))
        {
            return new AgeFinding(null, null, null, FhirRead.Ref(patient));
        }

        var parts = text.Split('-');
        if (!int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var y) || y < 1850 || y > 9999)
        {
            return new AgeFinding(null, null, text, FhirRead.Ref(patient));
        }

        int? m = parts.Length > 1 && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var mm) && mm is >= 1 and <= 12 ? mm : null;
        int? d = m is not null && parts.Length > 2 && int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var dd) && dd >= 1 && dd <= DateTime.DaysInMonth(y, m.Value) ? dd : null;

        // A partial date (year or year-month) spans a range of birthdays, hence a range of ages.
        var earliest = new DateOnly(y, m ?? 1, d ?? 1);
        var latest = new DateOnly(y, m ?? 12, d ?? DateTime.DaysInMonth(y, m ?? 12));
        return new AgeFinding(Years(latest, on), Years(earliest, on), text, FhirRead.Ref(patient));
    }

    internal static int Years(DateOnly birth, DateOnly on)
    {
        var years = on.Year - birth.Year;
        return birth.AddYears(years) > on ? years - 1 : years;
    }

    private ClinicalValue SelectQuantity(string name, Analyte analyte, List<Dated> obs, int windowDays, DateTimeOffset at) =>
        Select(name, ClinicalUnits.Canonical(analyte), obs, windowDays, at, o => ReadQuantity(o, analyte));

    private static Reading ReadQuantity(Observation o, Analyte analyte)
    {
        if (o.Value is not Quantity q || q.Value is not { } v)
        {
            return new Reading(null, "no quantity", "no numeric value");
        }

        var unit = q.System is null or FhirRead.UcumSystem ? q.Code ?? q.Unit : q.Unit;
        var source = ClinicalUnits.WithUnit(FhirRead.Num(v), unit);
        if (Math.Abs(v) > MaxPlausible)
        {
            return new Reading(null, source, "value is implausibly large");
        }

        if (q.Comparator is not null)
        {
            return new Reading(null, source, $"value is a bound ({q.Comparator}), not a measurement");
        }

        var canonical = ClinicalUnits.ToCanonical(analyte, v, unit);
        return canonical is null
            ? new Reading(null, source, $"unit '{unit ?? "(none)"}' is not a recognised unit for {AnalyteName(analyte)}")
            : new Reading(canonical, source, null);
    }

    private const decimal MaxPlausible = 1_000_000_000m;

    private static string AnalyteName(Analyte a) => a switch
    {
        Analyte.Inr => "INR",
        Analyte.Egfr => "eGFR",
        Analyte.Afp => "AFP",
        Analyte.TumourSize => "tumour size",
        Analyte.BloodPressure => "blood pressure",
        _ => a.ToString().ToLowerInvariant(),
    };

    private static Reading ReadCount(Observation o) => o.Value switch
    {
        Integer { Value: { } i } when i is >= 0 and <= 1000 => new Reading(i, i.ToString(CultureInfo.InvariantCulture), null),
        Quantity { Value: { } q } when q is >= 0 and <= 1000 && q == Math.Truncate(q) => new Reading(q, FhirRead.Num(q), null),
        _ => new Reading(null, "?", "not a whole number from 0 to 1000"),
    };

    private Reading ReadCoded(Observation o, string setId, bool allowInteger)
    {
        if (allowInteger && o.Value is Integer { Value: { } i })
        {
            // Integers are accepted only within the scale the value set defines (ECOG 0-5, NYHA 1-4).
            var scale = _sets[setId].Codes.Select(c => decimal.TryParse(c.Value, NumberStyles.Number, CultureInfo.InvariantCulture, out var d) ? d : (decimal?)null).OfType<decimal>().ToList();
            return scale.Contains(i)
                ? new Reading(i, i.ToString(CultureInfo.InvariantCulture), null)
                : new Reading(null, i.ToString(CultureInfo.InvariantCulture), $"{i} is not on the scale of {setId}");
        }

        if (o.Value is not CodeableConcept cc)
        {
            return new Reading(null, "?", "no coded value");
        }

        var entry = _sets[setId].FindCode(cc);
        return entry?.Value is { } value && decimal.TryParse(value, NumberStyles.Number, CultureInfo.InvariantCulture, out var d)
            ? new Reading(d, entry.Display ?? value, null)
            : new Reading(null, FhirRead.Display(cc), $"answer '{FhirRead.Display(cc)}' is not in value set {setId}");
    }

    private Reading ReadBclc(Observation o)
    {
        if (o.Value is not CodeableConcept cc)
        {
            return new Reading(null, "?", "no coded value");
        }

        var stage = BclcOf(cc);
        return stage is not { Length: 1 } || !BclcStages.Contains(stage[0], StringComparison.Ordinal)
            ? new Reading(null, FhirRead.Display(cc), $"'{FhirRead.Display(cc)}' is not a BCLC stage")
            : new Reading(BclcStages.IndexOf(stage[0], StringComparison.Ordinal), "BCLC " + stage, null);
    }

    private string? BclcOf(CodeableConcept? cc)
    {
        if (_sets["bclc-stage"].FindCode(cc)?.Value is { } v)
        {
            return v;
        }

        foreach (var text in ValueSet.Texts(cc ?? new CodeableConcept()))
        {
            var m = BclcText().Match(text);
            if (m.Success)
            {
                return m.Groups[1].Value.ToUpperInvariant();
            }
        }

        return null;
    }

    [GeneratedRegex(@"\bBCLC\s*(?:stage\s*)?([0ABCD])\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex BclcText();

    /// <summary>Latest value within the window; stale, unusable and conflicting latest values are reported, not used.</summary>
    private ClinicalValue Select(string name, string unit, List<Dated> obs, int windowDays, DateTimeOffset at, Func<Observation, Reading> read)
    {
        if (obs.Count == 0)
        {
            return ClinicalValue.Missing(name, unit);
        }

        var latest = obs[0];
        var reading = read(latest.Observation);
        var reference = FhirRead.Ref(latest.Observation);
        var day = FhirRead.Day(latest.Date);
        var evidence = new List<Evidence> { new(reference, name, reading.Source, latest.Date) };
        var age = FhirRead.DaysBetween(latest.Date, at);
        if (age > windowDays)
        {
            return new ClinicalValue(name, ValueState.Stale, null, unit, latest.Date,
                $"latest {reading.Source} on {day} is {age} days old (needed within {windowDays} days)", evidence);
        }

        if (reading.Value is not { } value)
        {
            return new ClinicalValue(name, ValueState.Unusable, null, unit, latest.Date, $"{reading.Problem} ({reference}, {day})", evidence);
        }

        var tolerance = _protocol.ConflictRelativeTolerance;
        for (var i = 1; i < obs.Count && latest.Date - obs[i].Date <= _protocol.ConflictWindow; i++)
        {
            var other = read(obs[i].Observation);
            if (other.Value is { } ov && Math.Abs(ov - value) > tolerance * Math.Max(Math.Abs(ov), Math.Abs(value)))
            {
                evidence.Add(new Evidence(FhirRead.Ref(obs[i].Observation), name, other.Source, obs[i].Date));
                return new ClinicalValue(name, ValueState.Conflicting, null, unit, latest.Date,
                    $"{reading.Source} ({day}) and {other.Source} ({FhirRead.Day(obs[i].Date)}) disagree", evidence);
            }
        }

        var canonical = ClinicalUnits.WithUnit(FhirRead.Num(value), unit);
        var shown = canonical == reading.Source || unit.Length == 0 ? canonical : $"{canonical} ({reading.Source})";
        return new ClinicalValue(name, ValueState.Available, value, unit, latest.Date, $"{shown}, {day}", evidence);
    }

    private ClinicalValue AscitesOrCondition(List<Dated> obs, List<Condition> conditions, DateTimeOffset at)
    {
        var fromObservation = Select("ascites", string.Empty, obs, _protocol.Windows.LiverAssessment, at, o => ReadCoded(o, "ascites-grade", allowInteger: false) switch
        {
            // Clinicians' words rather than the code's display ("ascites: None").
            { Value: 0 } r => r with { Source = "absent" },
            { Value: 1 } r => r with { Source = "mild" },
            { Value: 2 } r => r with { Source = "moderate to severe" },
            var r => r,
        });
        return fromObservation.State != ValueState.Missing ? fromObservation : FromCondition("ascites", "ascites-condition", conditions,
            severity => severity switch { "mild" => 1, "moderate" or "severe" => 2, _ => null });
    }

    private ClinicalValue EncephalopathyOrCondition(List<Dated> obs, List<Condition> conditions, DateTimeOffset at)
    {
        var fromObservation = Select("hepatic encephalopathy grade", string.Empty, obs, _protocol.Windows.LiverAssessment, at,
            o => o.Value is Integer { Value: >= 0 and <= 4 } i ? new Reading(i.Value, $"grade {i.Value}", null) : new Reading(null, "?", "not a West Haven grade 0-4"));
        // Severity words map to the Child-Pugh bands: mild/moderate = grade 1-2, severe = grade 3-4.
        return fromObservation.State != ValueState.Missing ? fromObservation : FromCondition("hepatic encephalopathy grade", "encephalopathy-condition", conditions,
            severity => severity switch { "mild" or "moderate" => 2, "severe" => 3, _ => null });
    }

    /// <summary>An active Condition (e.g. ascites) graded by its severity; with no Condition the datum is missing.</summary>
    private ClinicalValue FromCondition(string name, string setId, List<Condition> conditions, Func<string?, int?> grade)
    {
        var c = conditions.FirstOrDefault(x => FhirRead.IsActive(x) && _sets[setId].Matches(x.Code));
        if (c is null)
        {
            return ClinicalValue.Missing(name, string.Empty, "no assessment on record");
        }

        var severity = _sets["condition-severity"].FindCode(c.Severity)?.Value;
        var g = grade(severity);
        var reference = FhirRead.Ref(c);
        var evidence = new List<Evidence> { new(reference, name, severity ?? "present, grade not recorded", FhirRead.ParseString(c.RecordedDate)) };
        return g is null
            ? new ClinicalValue(name, ValueState.Unusable, null, string.Empty, null, $"recorded as a condition without a grade ({reference})", evidence)
            : new ClinicalValue(name, ValueState.Available, g, string.Empty, null, $"{g} ({severity}, {reference})", evidence);
    }

    private sealed record LiverCancers(List<ConditionFinding> NonHcc, List<Condition> Hcc, List<Condition> Unspecified, List<ConditionFinding> OtherPrimary);

    /// <summary>
    /// Sorts the liver cancers on record: cholangiocarcinoma and combined HCC-CCA (non-HCC pathology), HCC, liver cancer of unstated
    /// type (ICD-10 C22.9, C78.7 ...: the HCC diagnosis, to be confirmed) and other named primary liver cancers. None of them is ever
    /// "another" malignancy (clinical.md, corrections of the turn-2 review).
    /// </summary>
    private LiverCancers SplitLiverCancers(List<Condition> conditions)
    {
        var result = new LiverCancers([], [], [], []);
        foreach (var c in conditions)
        {
            // Checked first: "combined hepatocellular carcinoma-cholangiocarcinoma" also reads as HCC.
            if (_sets["cholangiocarcinoma"].Matches(c.Code))
            {
                result.NonHcc.Add(Finding(c));
            }
            else if (!FhirRead.IsActive(c))
            {
                continue;
            }
            else if (_sets["hcc"].Matches(c.Code))
            {
                result.Hcc.Add(c);
            }
            else if (_sets["liver-malignancy-non-hcc"].Matches(c.Code))
            {
                result.OtherPrimary.Add(Finding(c));
            }
            else if (_sets["liver-malignancy-unspecified"].Matches(c.Code))
            {
                result.Unspecified.Add(c);
            }
        }

        return result;
    }

    private bool IsLiverCancer(Condition c) =>
        _sets["hcc"].Matches(c.Code) || _sets["cholangiocarcinoma"].Matches(c.Code)
        || _sets["liver-malignancy-unspecified"].Matches(c.Code) || _sets["liver-malignancy-non-hcc"].Matches(c.Code);

    /// <summary>A specific HCC diagnosis when there is one (confirmed first); else a liver cancer of unstated type, to be confirmed as HCC.</summary>
    private (HccDiagnosis? Diagnosis, Condition? Condition) ChooseHcc(List<Condition> hcc, List<Condition> unspecified)
    {
        var specific = hcc.Count > 0;
        var candidates = specific ? hcc : unspecified;
        if (candidates.Count == 0)
        {
            return (null, null);
        }

        var chosen = candidates.FirstOrDefault(c => FhirRead.StatusCode(c.VerificationStatus) == "confirmed") ?? candidates[0];
        var basis = chosen.Evidence.SelectMany(e => e.Code).Select(cc => _sets["hcc-basis"].FindCode(cc)?.Value).FirstOrDefault(v => v is not null);
        return (new HccDiagnosis(Finding(chosen), FhirRead.IsConfirmedOrUnqualified(chosen), basis, specific), chosen);
    }

    private List<BclcRecord> RecordedBclc(Condition? hcc, ClinicalValue bclcObservation)
    {
        var list = new List<BclcRecord>();
        foreach (var stage in hcc?.Stage ?? [])
        {
            if (BclcOf(stage.Summary) is { } s)
            {
                list.Add(new BclcRecord(s, FhirRead.Ref(hcc!), FhirRead.ParseString(hcc!.RecordedDate), "Condition.stage"));
            }
        }

        if (bclcObservation.IsAvailable)
        {
            list.Add(new BclcRecord(BclcStages[(int)bclcObservation.Value!.Value].ToString(), bclcObservation.Reference!, bclcObservation.Date, "Observation"));
        }

        return list;
    }

    private static ConditionFinding Finding(Condition c) => new(
        FhirRead.Ref(c),
        FhirRead.Display(c.Code),
        FhirRead.StatusCode(c.ClinicalStatus),
        FhirRead.StatusCode(c.VerificationStatus),
        FhirRead.Date(c.Onset),
        FhirRead.Date(c.Abatement),
        FhirRead.ParseString(c.RecordedDate));

    private List<ConditionFinding> Findings(List<Condition> conditions, string setId, bool activeOnly, Func<Condition, bool>? except = null) =>
        [.. conditions.Where(c => (!activeOnly || FhirRead.IsActive(c)) && _sets[setId].Matches(c.Code) && except?.Invoke(c) != true).Select(Finding)];

    /// <summary>
    /// Cardiac conditions wider than NYHA III-IV heart failure that the trial's "uncontrolled cardiac disease" may cover: a myocardial
    /// infarction within the protocol's months (or undated), active unstable angina, an active arrhythmia. Each is for the investigator.
    /// </summary>
    private List<CardiacFinding> CardiacConditions(List<Condition> conditions, DateTimeOffset at)
    {
        var list = new List<CardiacFinding>();
        var months = _protocol.CardiacRecentEventMonths;
        var since = at.AddMonths(-months);
        foreach (var c in conditions)
        {
            if (_sets["cardiac-myocardial-infarction"].Matches(c.Code))
            {
                var f = Finding(c);
                var when = f.Onset ?? f.Recorded;
                var (counts, why) = when switch
                {
                    null => (true, "myocardial infarction, date not recorded"),
                    { } d when d >= since => (true, $"myocardial infarction on {FhirRead.Day(d)} (within {months} months)"),
                    { } d => (false, $"myocardial infarction on {FhirRead.Day(d)} (more than {months} months ago)"),
                };
                list.Add(new CardiacFinding(f, "myocardial infarction", counts, why));
            }
            else if (FhirRead.IsActive(c) && _sets["cardiac-unstable-angina"].Matches(c.Code))
            {
                list.Add(new CardiacFinding(Finding(c), "unstable angina", true, "unstable angina on record"));
            }
            else if (FhirRead.IsActive(c) && _sets["cardiac-arrhythmia"].Matches(c.Code))
            {
                list.Add(new CardiacFinding(Finding(c), "arrhythmia", true, "active arrhythmia on record: whether it is controlled is not in the record"));
            }
        }

        return list;
    }

    /// <summary>
    /// Malignancies other than the liver cancer, placed against the look-back window and the protocol's exception ("appropriately
    /// treated carcinoma in situ of the cervix, non-melanoma skin cancer, or other cancers with a very low risk of recurrence").
    /// Only the two named cases, treated, are exceptions outright; everything that needs judgement is to be confirmed.
    /// </summary>
    private List<MalignancyFinding> OtherMalignancies(List<Condition> conditions, DateTimeOffset at)
    {
        var list = new List<MalignancyFinding>();
        var since = at.AddYears(-_protocol.MalignancyLookbackYears);
        var years = _protocol.MalignancyLookbackYears;
        foreach (var c in conditions)
        {
            if (!_sets["malignancy"].Matches(c.Code) && !_sets["malignancy-secondary"].Matches(c.Code) && !_sets["malignancy-in-situ"].Matches(c.Code))
            {
                continue;
            }

            if (IsLiverCancer(c))
            {
                continue;
            }

            var f = Finding(c);
            // A "personal history of" concept records a past cancer whatever its clinical status: only its dates can place it.
            var history = _sets["malignancy-history"].Matches(c.Code);
            var status = history ? "history" : f.ClinicalStatus;
            var active = !history && status is null or "active" or "recurrence" or "relapse";
            var state = active ? "active" : status;

            // Where it falls against the look-back window, whatever kind of cancer it is.
            MalignancyFinding? dated = null;
            if (!active && f.Abatement is { } end)
            {
                dated = end >= since
                    ? new(f, MalignancyRelevance.Counts, $"{status}, ended {FhirRead.Day(end)} (within {years} years)")
                    : new(f, MalignancyRelevance.OutsideLookback, $"{status}, ended {FhirRead.Day(end)} (more than {years} years ago)");
            }
            else if (!active && f.Onset is { } onset && onset >= since)
            {
                dated = new(f, MalignancyRelevance.Counts, $"{status}, diagnosed {FhirRead.Day(onset)} (within {years} years)");
            }

            if (dated?.Relevance == MalignancyRelevance.OutsideLookback)
            {
                list.Add(dated);
                continue;
            }

            MalignancyFinding result;
            if (_sets["malignancy-secondary"].Matches(c.Code))
            {
                result = new(f, MalignancyRelevance.ToConfirm, $"secondary malignancy ({state}): spread of the HCC or another primary cancer, to be confirmed");
            }
            else if (_sets["malignancy-exception-skin-non-melanoma"].Matches(c.Code))
            {
                result = active
                    ? new(f, MalignancyRelevance.ToConfirm, "non-melanoma skin cancer, active: the protocol excepts it once appropriately treated; investigator to confirm")
                    : new(f, MalignancyRelevance.Excepted, $"non-melanoma skin cancer ({status}; protocol exception)");
            }
            else if (_sets["malignancy-exception-cervix-in-situ"].Matches(c.Code))
            {
                result = active
                    ? new(f, MalignancyRelevance.ToConfirm, "carcinoma in situ of the cervix, not recorded as treated: the protocol excepts it once appropriately treated; investigator to confirm")
                    : new(f, MalignancyRelevance.Excepted, $"treated carcinoma in situ of the cervix ({status}; protocol exception)");
            }
            else if (_sets["malignancy-in-situ"].Matches(c.Code))
            {
                result = new(f, MalignancyRelevance.ToConfirm, $"carcinoma in situ outside the cervix ({state}): whether its risk of recurrence is very low is for the investigator");
            }
            else if (_sets["malignancy-exception-very-low-risk"].Matches(c.Code))
            {
                result = new(f, MalignancyRelevance.ToConfirm, $"listed by the site as a very-low-risk cancer ({state}): the protocol's exception needs the investigator's judgement");
            }
            else if (active)
            {
                result = new(f, MalignancyRelevance.Counts, $"clinical status {status ?? "not stated (taken as active)"}");
            }
            else
            {
                result = dated ?? new(f, MalignancyRelevance.DateUnknown, $"{status}, no end date to place it relative to the {years}-year window");
            }

            list.Add(result);
        }

        return list;
    }

    private List<AllergyFinding> RegimenAllergies(IReadOnlyList<AllergyIntolerance> allergies)
    {
        var list = new List<AllergyFinding>();
        foreach (var a in allergies)
        {
            if (!FhirRead.IsRecorded(a))
            {
                continue;
            }

            var concepts = new List<CodeableConcept>();
            if (a.Code is not null)
            {
                concepts.Add(a.Code);
            }

            concepts.AddRange(a.Reaction.Select(r => r.Substance).OfType<CodeableConcept>());
            if (MatchDrugClass(concepts) is { } match)
            {
                list.Add(new AllergyFinding(FhirRead.Ref(a), FhirRead.Display(match.Concept), match.Class, match.How, a.Criticality?.ToString().ToLowerInvariant()));
            }
        }

        return list;
    }

    /// <summary>
    /// The drug class a concept belongs to: an exact code first, then an ATC group, then text (the more specific match names the drug);
    /// at the same level, classes that exclude before those that ask for confirmation.
    /// </summary>
    internal (DrugClass Class, string How, CodeableConcept Concept)? MatchDrugClass(IEnumerable<CodeableConcept> concepts) =>
        MatchDrug(concepts) is { } m ? (m.Class, m.Match.How, m.Concept) : null;

    internal (DrugClass Class, DrugMatch Match, CodeableConcept Concept)? MatchDrug(IEnumerable<CodeableConcept> concepts)
    {
        var list = concepts as IList<CodeableConcept> ?? [.. concepts];
        foreach (var level in (DrugMatchLevel[])[DrugMatchLevel.Code, DrugMatchLevel.AtcClass, DrugMatchLevel.Text])
        {
            foreach (var action in (DrugMatchAction[])[DrugMatchAction.Fail, DrugMatchAction.ToBeConfirmed])
            {
                foreach (var dc in _sets.DrugClasses)
                {
                    if (dc.OnMatch != action || !_protocol.RegimenDrugs.Contains(dc.RegimenDrug))
                    {
                        continue;
                    }

                    foreach (var cc in list)
                    {
                        if (dc.MatchAt(cc, level) is { } match)
                        {
                            return (dc, match, cc);
                        }
                    }
                }
            }
        }

        return null;
    }

    internal bool IsLiverResection(CodeableConcept? code) => _sets["liver-resection"].Matches(code);

    private List<ResectionFinding> Resections(PatientRecord record, DateTimeOffset at)
    {
        var list = new List<ResectionFinding>();
        var since = at.AddDays(-1);
        var orderRefs = new HashSet<string>(StringComparer.Ordinal);
        foreach (var sr in record.ServiceRequests)
        {
            if (sr.Status is RequestStatus.Active or RequestStatus.Draft && IsLiverResection(sr.Code))
            {
                var when = FhirRead.Date(sr.Occurrence);
                if (when is null || when >= since)
                {
                    list.Add(new ResectionFinding(FhirRead.Ref(sr), "order", sr.Status.ToString()!.ToLowerInvariant(), when, FhirRead.Display(sr.Code)));
                    orderRefs.Add(FhirRead.Ref(sr));
                }
            }
        }

        foreach (var p in record.Procedures)
        {
            if (p.Status == EventStatus.Preparation && IsLiverResection(p.Code))
            {
                list.Add(new ResectionFinding(FhirRead.Ref(p), "procedure in preparation", "preparation", FhirRead.Date(p.Performed), FhirRead.Display(p.Code)));
            }
        }

        foreach (var ap in record.Appointments)
        {
            if (ap.Status is not (Appointment.AppointmentStatus.Proposed or Appointment.AppointmentStatus.Pending or Appointment.AppointmentStatus.Booked or Appointment.AppointmentStatus.Waitlist)
                || (ap.Start is { } start && start < since))
            {
                continue;
            }

            var coded = ap.ServiceType.Concat(ap.ReasonCode).Append(ap.AppointmentType).FirstOrDefault(IsLiverResection);
            var basedOn = ap.BasedOn.Any(r => r.Reference is { } rf && orderRefs.Any(o => rf.EndsWith(o, StringComparison.Ordinal)));
            if (coded is not null || basedOn)
            {
                list.Add(new ResectionFinding(FhirRead.Ref(ap), "appointment", ap.Status.ToString()!.ToLowerInvariant(), ap.Start, coded is null ? "for the resection order" : FhirRead.Display(coded)));
            }
        }

        foreach (var draft in record.DraftOrders)
        {
            var code = draft switch
            {
                ServiceRequest sr => sr.Code,
                Procedure p => p.Code,
                _ => null,
            };
            if (IsLiverResection(code))
            {
                list.Add(new ResectionFinding(FhirRead.Ref(draft), "draft order in this session", "draft", draft is ServiceRequest s ? FhirRead.Date(s.Occurrence) : null, FhirRead.Display(code)));
            }
        }

        return list;
    }

    /// <summary>
    /// The MR study to use: the newest pre-operative one (acquired by now and not after a scheduled resection) inside the protocol
    /// window; if none is inside, the newest dated one (the criterion then reports its age); if none is dated, an undated one (its
    /// date is read from the images). The others are counted so the criterion can say they exist (issue 15 item 5).
    /// </summary>
    private MriSelection? SelectMri(IReadOnlyList<ImagingStudy> studies, DateTimeOffset latestAllowed, DateTimeOffset at, List<ResectionFinding> resections)
    {
        // A study acquired after the (earliest) scheduled resection is post-operative, not the pre-operative MRI the trial asks for.
        var surgery = resections.Where(r => r.When is not null).Select(r => r.When!.Value).DefaultIfEmpty(DateTimeOffset.MaxValue).Min();
        var candidates = new List<MriStudyFinding>();
        foreach (var s in studies)
        {
            if (s.Status is ImagingStudy.ImagingStudyStatus.EnteredInError or ImagingStudy.ImagingStudyStatus.Cancelled)
            {
                continue;
            }

            var isMr = s.Modality.Any(m => m.Code == "MR") || s.Series.Any(x => x.Modality?.Code == "MR");
            var started = FhirRead.Parse(s.StartedElement);
            if (!isMr || started > latestAllowed || started > surgery)
            {
                continue;
            }

            var series = s.Series.Count > 0 ? s.Series.Count(x => x.Modality?.Code is null or "MR") : s.NumberOfSeries ?? 0;
            var uid = s.Identifier.FirstOrDefault(i => i.System == "urn:dicom:uid")?.Value;
            candidates.Add(new MriStudyFinding(FhirRead.Ref(s), started, series, s.Description, uid));
        }

        if (candidates.Count == 0)
        {
            return null;
        }

        var window = _protocol.MriWindowDays;
        bool InWindow(MriStudyFinding m) => m.Started is { } d && FhirRead.DaysBetween(d, at) <= window;
        var dated = candidates.Where(m => m.Started is not null).OrderByDescending(m => m.Started).ToList();
        var chosen = dated.FirstOrDefault(InWindow) ?? dated.FirstOrDefault() ?? candidates[0];
        return new MriSelection(chosen, candidates.Count - 1, candidates.Count(m => m != chosen && InWindow(m)), candidates.Count(m => m.Started is null && m != chosen));
    }

    private (IReadOnlyList<BloodPressureReading> InWindow, BloodPressureReading? LatestOld, string? Unusable) BloodPressureReadings(
        List<Dated> panels, List<Dated> systolic, List<Dated> diastolic, int windowDays, DateTimeOffset at)
    {
        var all = new List<BloodPressureReading>();
        var unusable = new List<(DateTimeOffset Date, string Why)>();

        decimal? Read(Quantity? q, Dated d)
        {
            if (q?.Value is not { } v)
            {
                return null;
            }

            var unit = q.System is null or FhirRead.UcumSystem ? q.Code ?? q.Unit : q.Unit;
            var value = Math.Abs(v) <= MaxPlausible ? ClinicalUnits.ToCanonical(Analyte.BloodPressure, v, unit) : null;
            if (value is null)
            {
                unusable.Add((d.Date, $"blood pressure {FhirRead.Num(v)} '{unit ?? "(no unit)"}' not usable ({FhirRead.Ref(d.Observation)}, {FhirRead.Day(d.Date)})"));
            }

            return value;
        }

        decimal? Component(Dated d, string setId) =>
            Read(d.Observation.Component.FirstOrDefault(c => _sets[setId].MatchesCode(c.Code))?.Value as Quantity, d);

        foreach (var p in panels)
        {
            all.Add(new BloodPressureReading(Component(p, "obs-bp-systolic"), Component(p, "obs-bp-diastolic"), p.Date, FhirRead.Ref(p.Observation)));
        }

        all.AddRange(systolic.Select(s => new BloodPressureReading(Read(s.Observation.Value as Quantity, s), null, s.Date, FhirRead.Ref(s.Observation))));
        all.AddRange(diastolic.Select(d => new BloodPressureReading(null, Read(d.Observation.Value as Quantity, d), d.Date, FhirRead.Ref(d.Observation))));
        all.RemoveAll(r => r.Systolic is null && r.Diastolic is null);
        all.Sort((x, y) => y.Date.CompareTo(x.Date));
        var latestUnusable = unusable.Count == 0 ? null : unusable.MaxBy(u => u.Date).Why;
        return ([.. all.Where(r => FhirRead.DaysBetween(r.Date, at) <= windowDays)], all.FirstOrDefault(r => FhirRead.DaysBetween(r.Date, at) > windowDays), latestUnusable);
    }
}
