namespace CdsRisk.Core.Scores;

/// <summary>CKD-EPI 2021 creatinine equation without race (Inker et al., N Engl J Med 2021;385:1737-49).</summary>
public static class CkdEpi
{
    /// <summary>eGFR in mL/min/1.73 m2 from serum creatinine in mg/dL.</summary>
    public static double Egfr2021(double creatinineMgPerDl, int ageYears, bool male)
    {
        if (creatinineMgPerDl <= 0 || !double.IsFinite(creatinineMgPerDl))
        {
            throw new ArgumentOutOfRangeException(nameof(creatinineMgPerDl), "creatinine must be positive");
        }

        var kappa = male ? 0.9 : 0.7;
        var alpha = male ? -0.302 : -0.241;
        var ratio = creatinineMgPerDl / kappa;
        var egfr = 142 * Math.Pow(Math.Min(ratio, 1), alpha) * Math.Pow(Math.Max(ratio, 1), -1.200) * Math.Pow(0.9938, ageYears);
        return male ? egfr : egfr * 1.012;
    }
}
