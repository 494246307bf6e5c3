using CdsRisk.Core.Eligibility;
using CdsRisk.Core.Patients;
using Hl7.Fhir.Model;
using Evidence = CdsRisk.Core.Eligibility.Evidence;

namespace CdsRisk.Core.FollowUp;

/// <summary>
/// The CTCAE v5.0 grade bands (NCI, Common Terminology Criteria for Adverse Events v5.0, 27 Nov 2017) of the terms the follow-up
/// watches. A signal is raised when a value crosses the protocol file's threshold; its grade is the CTCAE band the value falls in.
/// Grading against the ULN assumes a normal baseline: where the baseline was abnormal CTCAE grades against the baseline, which is
/// the investigator's call. A signal is evidence to assess, never a diagnosis of an adverse event.
/// </summary>
public static class Ctcae
{
    /// <summary>"Investigations: ALT/AST increased": G1 &gt;ULN–3.0×ULN, G2 &gt;3.0–5.0, G3 &gt;5.0–20.0, G4 &gt;20.0×ULN.</summary>
    public static SafetySignal? Aminotransferase(string id, string term, string name, DatedObservation? o, DefaultLimit defaultUln, decimal multiple)
    {
        if (o?.Observation.Value is not Quantity { Value: { } value } q || Uln(o.Observation, q, defaultUln, SameEnzymeUnit) is not { } uln)
        {
            return null;
        }

        var ratio = value / uln.Value;
        if (ratio <= multiple)
        {
            return null;
        }

        var grade = ratio > 20m ? 4 : ratio > 5m ? 3 : ratio > 3m ? 2 : 1;
        return new SafetySignal(id, term, grade,
            $"{name} {Show(q)} = {Times(ratio)} × ULN ({uln.Source}): CTCAE v5.0 '{term}' grade {grade} band", [o.ToEvidence()]);
    }

    /// <summary>"Blood bilirubin increased": G1 &gt;ULN–1.5×ULN, G2 &gt;1.5–3.0, G3 &gt;3.0–10.0, G4 &gt;10.0×ULN.</summary>
    public static SafetySignal? Bilirubin(DatedObservation? o, DefaultLimit defaultUln, decimal multiple)
    {
        if (o?.Observation.Value is not Quantity { Value: { } raw } q || ClinicalUnits.ToCanonical(Analyte.Bilirubin, raw, q.Code ?? q.Unit) is not { } value)
        {
            return null;
        }

        var range = o.Observation.ReferenceRange.FirstOrDefault(r => r.High?.Value is not null)?.High;
        var uln = range is not null && ClinicalUnits.ToCanonical(Analyte.Bilirubin, range.Value!.Value, range.Code ?? range.Unit ?? q.Code ?? q.Unit) is { } fromRange
            ? (Value: fromRange, Source: $"{Show(range)}, reference range")
            : ClinicalUnits.ToCanonical(Analyte.Bilirubin, defaultUln.Value, defaultUln.Unit) is { } fromDefault
                ? (Value: fromDefault, Source: $"{FhirRead.Num(defaultUln.Value)} {ClinicalUnits.Readable(defaultUln.Unit)}, protocol default")
                : ((decimal Value, string Source)?)null;
        if (uln is not { } u || u.Value <= 0)
        {
            return null;
        }

        var ratio = value / u.Value;
        if (ratio <= multiple)
        {
            return null;
        }

        var grade = ratio > 10m ? 4 : ratio > 3m ? 3 : ratio > 1.5m ? 2 : 1;
        return new SafetySignal("bilirubin-increased", "Blood bilirubin increased", grade,
            $"Bilirubin {Show(q)} = {Times(ratio)} × ULN ({u.Source}): CTCAE v5.0 'Blood bilirubin increased' grade {grade} band", [o.ToEvidence()]);
    }

    /// <summary>"Neutrophil count decreased": G2 &lt;1.5–1.0, G3 &lt;1.0–0.5, G4 &lt;0.5 ×10⁹/L.</summary>
    public static SafetySignal? Neutrophils(DatedObservation? o, decimal below)
    {
        if (Count(o) is not { } value || value >= below)
        {
            return null;
        }

        var grade = value < 0.5m ? 4 : value < 1.0m ? 3 : value < 1.5m ? 2 : 1;
        return new SafetySignal("neutrophil-count-decreased", "Neutrophil count decreased", grade,
            $"Neutrophils {FhirRead.Num(value)} ×10⁹/L: CTCAE v5.0 'Neutrophil count decreased' grade {grade} band", [o!.ToEvidence()]);
    }

    /// <summary>"Platelet count decreased": G2 &lt;75–50, G3 &lt;50–25, G4 &lt;25 ×10⁹/L.</summary>
    public static SafetySignal? Platelets(DatedObservation? o, decimal below)
    {
        if (Count(o) is not { } value || value >= below)
        {
            return null;
        }

        var grade = value < 25m ? 4 : value < 50m ? 3 : value < 75m ? 2 : 1;
        return new SafetySignal("platelet-count-decreased", "Platelet count decreased", grade,
            $"Platelets {FhirRead.Num(value)} ×10⁹/L: CTCAE v5.0 'Platelet count decreased' grade {grade} band", [o!.ToEvidence()]);
    }

    /// <summary>
    /// "Hypertension" (adult): G3 systolic ≥160 or diastolic ≥100 mmHg; G4 is defined by life-threatening consequences, which no
    /// number shows, so a reading at or above the threshold is graded 3 at most.
    /// </summary>
    public static SafetySignal? Hypertension(BloodPressureReading? bp, decimal systolicAtLeast, decimal diastolicAtLeast)
    {
        if (bp is null || !(bp.Systolic >= systolicAtLeast || bp.Diastolic >= diastolicAtLeast))
        {
            return null;
        }

        var grade = bp.Systolic >= 160m || bp.Diastolic >= 100m ? 3 : bp.Systolic >= 140m || bp.Diastolic >= 90m ? 2 : 1;
        return new SafetySignal("hypertension", "Hypertension", grade,
            $"Blood pressure {bp.Display} on lenvatinib: CTCAE v5.0 'Hypertension' grade {grade} band", [new Evidence(bp.Reference, "blood pressure", bp.Display, bp.Date)]);
    }

    /// <summary>"Proteinuria" (adult): G1 1+ or &lt;1.0 g/24 h, G2 2+–3+ or 1.0–&lt;3.5 g/24 h, G3 ≥3.5 g/24 h.</summary>
    public static SafetySignal? Proteinuria(DatedObservation? day, DatedObservation? dipstick, decimal gramsPerDayAtLeast)
    {
        if (day?.Observation.Value is Quantity { Value: { } v } q && GramsPerDay(v, q.Code ?? q.Unit) is { } grams && grams >= gramsPerDayAtLeast)
        {
            var grade = grams >= 3.5m ? 3 : grams >= 1.0m ? 2 : 1;
            return new SafetySignal("proteinuria", "Proteinuria", grade,
                $"Urine protein {FhirRead.Num(grams)} g/24 h on lenvatinib: CTCAE v5.0 'Proteinuria' grade {grade} band", [day.ToEvidence()]);
        }

        var text = dipstick?.Observation.Value switch
        {
            CodeableConcept c => FhirRead.Display(c),
            FhirString s => s.Value,
            _ => null,
        };
        if (text?.Trim() is "2+" or "3+" or "4+" or "++" or "+++" or "++++")
        {
            return new SafetySignal("proteinuria", "Proteinuria", 2,
                $"Urine dipstick protein {text.Trim()} on lenvatinib: CTCAE v5.0 'Proteinuria' grade 2 band by dipstick; a 24-hour urine protein grades it further",
                [dipstick!.ToEvidence() with { Value = text.Trim() }]);
        }

        return null;
    }

    /// <summary>
    /// Hypo- and hyperthyroidism: CTCAE v5.0 grades them on symptoms and the treatment they need, not on TSH, so the signal carries
    /// no grade: it points at the TSH outside its range for the investigator to grade.
    /// </summary>
    public static SafetySignal? Thyroid(DatedObservation? o, DefaultLimit defaultLow, DefaultLimit defaultHigh)
    {
        if (o?.Observation.Value is not Quantity { Value: { } value } q)
        {
            return null;
        }

        var range = o.Observation.ReferenceRange.FirstOrDefault(r => r.Low?.Value is not null || r.High?.Value is not null);
        var low = range?.Low?.Value ?? defaultLow.Value;
        var high = range?.High?.Value ?? defaultHigh.Value;
        var source = range is null ? "protocol default range" : "reference range";
        if (value >= low && value <= high)
        {
            return null;
        }

        var direction = value > high ? "above" : "below";
        return new SafetySignal("thyroid-dysfunction", value > high ? "Hypothyroidism" : "Hyperthyroidism", null,
            $"TSH {Show(q)} {direction} {FhirRead.Num(value > high ? high : low)} ({source}) on a PD-1 inhibitor: CTCAE v5.0 grades thyroid dysfunction on symptoms and treatment, for the investigator",
            [o.ToEvidence()]);
    }

    public static string Show(Quantity q) =>
        q.Value is { } v ? ClinicalUnits.WithUnit(FhirRead.Num(v), q.Code ?? q.Unit) : "(no value)";

    private static string Times(decimal ratio) => Math.Round(ratio, 1, MidpointRounding.AwayFromZero).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture);

    private static decimal? Count(DatedObservation? o) =>
        o?.Observation.Value is Quantity { Value: { } v } q ? ClinicalUnits.ToCanonical(Analyte.Platelets, v, q.Code ?? q.Unit) : null;

    private static decimal? GramsPerDay(decimal value, string? unit) => Norm(unit) switch
    {
        "g/(24.h)" or "g/24h" or "g/d" or "g/(24h)" => value,
        "mg/(24.h)" or "mg/24h" or "mg/d" or "mg/(24h)" => value / 1000m,
        _ => null,
    };

    private static (decimal Value, string Source)? Uln(Observation o, Quantity value, DefaultLimit fallback, Func<string?, string?, bool> sameUnit)
    {
        var high = o.ReferenceRange.FirstOrDefault(r => r.High?.Value is not null)?.High;
        if (high is not null && sameUnit(high.Code ?? high.Unit ?? value.Code ?? value.Unit, value.Code ?? value.Unit) && high.Value > 0)
        {
            return (high.Value!.Value, $"{Show(high)}, reference range");
        }

        return sameUnit(fallback.Unit, value.Code ?? value.Unit) && fallback.Value > 0
            ? (fallback.Value, $"{FhirRead.Num(fallback.Value)} {ClinicalUnits.Readable(fallback.Unit)}, protocol default")
            : null;
    }

    private static bool SameEnzymeUnit(string? a, string? b) => EnzymeUnit(a) is { } x && x == EnzymeUnit(b);

    private static string? EnzymeUnit(string? unit) => Norm(unit) switch
    {
        "u/l" or "[iu]/l" or "iu/l" or "u/l(37c)" => "U/L",
        "ukat/l" => "ukat/L",
        _ => null,
    };

    private static string Norm(string? unit) => (unit ?? "").Trim().Replace(" ", "", StringComparison.Ordinal).Replace("µ", "u", StringComparison.Ordinal).ToLowerInvariant();
}
