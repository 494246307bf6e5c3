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

    /// <summary>The canonical unit as clinicians write it (µmol/L, mL/min/1.73 m², ×10⁹/L ...); empty for INR.</summary>
    public static string Display(Analyte a) => Readable(Canonical(a));

    /// <summary>
    /// A UCUM unit as clinicians write it: "umol/L" → "µmol/L", "mL/min/{1.73_m2}" → "mL/min/1.73 m²", "10*3/uL" → "×10³/µL",
    /// "mm[Hg]" → "mmHg", "{INR}" → "" (a ratio has no unit). Units it does not know are shown as written, without UCUM braces.
    /// </summary>
    public static string Readable(string? unit)
    {
        if (string.IsNullOrWhiteSpace(unit))
        {
            return string.Empty;
        }

        var u = unit.Trim();
        switch (Normalise(u))
        {
            case "{inr}" or "inr" or "{ratio}" or "1":
                return string.Empty;
            case "ml/min/{1.73_m2}" or "ml/min/1.73m2" or "ml/min/{1.73m2}" or "ml/min/1.73.m2" or "ml/min/1.73_m2":
                return "mL/min/1.73 m²";
            case "mm[hg]" or "mmhg":
                return "mmHg";
            case "10*9/l" or "10^9/l":
                return "×10⁹/L";
            case "10*3/ul" or "10^3/ul":
                return "×10³/µL";
            case "10*3/mm3":
                return "×10³/mm³";
            case "[iu]/ml" or "iu/ml":
                return "IU/mL";
            case "k[iu]/l" or "ku/l":
                return "kIU/L";
            case "{count}":
                return string.Empty;
        }

        // µ for the micro prefix (UCUM writes "u"), and no UCUM annotation braces.
        if (u.Length > 1 && u[0] == 'u' && char.IsLetter(u[1]))
        {
            u = "µ" + u[1..];
        }

        return u.Replace("{", string.Empty, StringComparison.Ordinal).Replace("}", string.Empty, StringComparison.Ordinal);
    }

    /// <summary>"0.8 mg/dL", "1.1" (INR), "88 mL/min/1.73 m²".</summary>
    public static string WithUnit(string number, string? unit)
    {
        var readable = Readable(unit);
        return readable.Length == 0 ? number : $"{number} {readable}";
    }

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
