namespace CdsRisk.Core.Scoring;

/// <summary>
/// The clinical features the PRE model reads, by name, each in one canonical unit.
/// The eligibility side fills a <see cref="ClinicalFeatureValues"/> from the patient snapshot (null = not available);
/// the scorer applies the model card's order, transforms, normalisation and imputation.
/// </summary>
public static class ClinicalFeatureNames
{
    public const string AgeYears = "age_years";             // a
    public const string SexMale = "sex_male";               // 1 = male, 0 = female
    public const string AfpNgPerMl = "afp_ng_ml";           // ng/mL
    public const string AlbuminGPerL = "albumin_g_l";       // g/L
    public const string BilirubinUmolPerL = "bilirubin_umol_l"; // umol/L
    public const string PlateletsE9PerL = "platelets_10e9_l";   // 10*9/L
    public const string Inr = "inr";                        // {INR}
    public const string TumourSizeCm = "tumour_size_cm";    // cm, largest diameter
    public const string TumourCount = "tumour_count";       // count

    public static IReadOnlyList<string> All { get; } =
        [AgeYears, SexMale, AfpNgPerMl, AlbuminGPerL, BilirubinUmolPerL, PlateletsE9PerL, Inr, TumourSizeCm, TumourCount];
}

/// <summary>Feature name to value in the canonical unit; a missing or null entry means not available.</summary>
public sealed record ClinicalFeatureValues(IReadOnlyDictionary<string, double?> Values)
{
    public double? this[string name] => Values.TryGetValue(name, out var v) ? v : null;
}
