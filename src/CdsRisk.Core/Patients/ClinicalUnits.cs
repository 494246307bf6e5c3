namespace CdsRisk.Core.Patients;

public enum Analyte
{
    Bilirubin,
    Albumin,
    Inr,
    Creatinine,
    Egfr,
    Afp,
    Platelets,
    TumourSize,
    BloodPressure,
}

/// <summary>
/// Converts a UCUM quantity to the analyte's canonical unit. Units are read from the Observation, never assumed:
/// a unit not listed here makes the value unusable.
/// </summary>
public static class ClinicalUnits
{
    public static string Canonical(Analyte a) => a switch
    {
        Analyte.Bilirubin => "umol/L",
        Analyte.Albumin => "g/L",
        Analyte.Inr => "{INR}",
        Analyte.Creatinine => "umol/L",
        Analyte.Egfr => "mL/min/{1.73_m2}",
        Analyte.Afp => "ng/mL",
        Analyte.Platelets => "10*9/L",
        Analyte.TumourSize => "cm",
        Analyte.BloodPressure => "mm[Hg]",
        _ => throw new ArgumentOutOfRangeException(nameof(a)),
    };

    /// <summary>The value in the canonical unit, or null when the unit is not known for this analyte.</summary>
    public static decimal? ToCanonical(Analyte analyte, decimal value, string? unit)
    {
        var u = Normalise(unit);
        decimal? factor = (analyte, u) switch
        {
            (Analyte.Bilirubin, "umol/l") => 1m,
            (Analyte.Bilirubin, "mg/dl") => 17.1m,
            (Analyte.Albumin, "g/l") => 1m,
            (Analyte.Albumin, "g/dl") => 10m,
            (Analyte.Inr, "{inr}" or "1" or "" or "{ratio}" or "inr") => 1m,
            (Analyte.Creatinine, "umol/l") => 1m,
            (Analyte.Creatinine, "mg/dl") => 88.4m,
            (Analyte.Egfr, "ml/min/{1.73_m2}" or "ml/min/1.73m2" or "ml/min/{1.73m2}" or "ml/min/1.73.m2" or "ml/min/1.73_m2") => 1m,
            (Analyte.Afp, "ng/ml" or "ug/l") => 1m,
            // 1 IU AFP = 1.21 ng (WHO 72/225 standard)
            (Analyte.Afp, "[iu]/ml" or "iu/ml" or "ku/l" or "k[iu]/l") => 1.21m,
            (Analyte.Platelets, "10*9/l" or "10^9/l" or "10*3/ul" or "10^3/ul" or "/nl" or "10*3/mm3") => 1m,
            (Analyte.TumourSize, "cm") => 1m,
            (Analyte.TumourSize, "mm") => 0.1m,
            (Analyte.BloodPressure, "mm[hg]" or "mmhg") => 1m,
            _ => null,
        };
        return factor is null ? null : value * factor.Value;
    }

    private static string Normalise(string? unit) =>
        (unit ?? string.Empty).Trim().Replace("µ", "u", StringComparison.Ordinal).Replace("μ", "u", StringComparison.Ordinal)
            .Replace(" ", string.Empty, StringComparison.Ordinal).ToLowerInvariant();
}
