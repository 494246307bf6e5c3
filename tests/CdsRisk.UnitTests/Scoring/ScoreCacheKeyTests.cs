using CdsRisk.Core.Scoring;

namespace CdsRisk.UnitTests.Scoring;

public sealed class ScoreCacheKeyTests
{
    private static ClinicalFeatureValues Features(params (string Name, double? Value)[] values) =>
        new(values.ToDictionary(v => v.Name, v => v.Value));

    private static readonly string Sha = new('a', 64);

    [Fact]
    public void SameInputs_GiveEqualKeys()
    {
        var a = ScoreCacheKey.Create("1.2.3", Sha, Features((ClinicalFeatureNames.AgeYears, 60), (ClinicalFeatureNames.Inr, 1.1)));
        var b = ScoreCacheKey.Create("1.2.3", Sha.ToUpperInvariant(), Features((ClinicalFeatureNames.Inr, 1.1), (ClinicalFeatureNames.AgeYears, 60)));

        Assert.Equal(a, b);
        Assert.Equal(a.ToString(), b.ToString());
    }

    [Fact]
    public void AChangedFeatureValue_ChangesTheKey()
    {
        var a = ScoreCacheKey.Create("1.2.3", Sha, Features((ClinicalFeatureNames.AfpNgPerMl, 20)));
        var b = ScoreCacheKey.Create("1.2.3", Sha, Features((ClinicalFeatureNames.AfpNgPerMl, 20.5)));

        Assert.NotEqual(a.ClinicalFeatureHash, b.ClinicalFeatureHash);
    }

    [Fact]
    public void AMissingFeature_DiffersFromZero()
    {
        var missing = ScoreCacheKey.HashClinicalFeatures(Features((ClinicalFeatureNames.TumourCount, null)));
        var zero = ScoreCacheKey.HashClinicalFeatures(Features((ClinicalFeatureNames.TumourCount, 0)));

        Assert.NotEqual(missing, zero);
    }

    [Fact]
    public void FeaturesTheModelDoesNotRead_DoNotChangeTheKey()
    {
        var a = ScoreCacheKey.HashClinicalFeatures(Features((ClinicalFeatureNames.Inr, 1.0)));
        var b = ScoreCacheKey.HashClinicalFeatures(Features((ClinicalFeatureNames.Inr, 1.0), ("creatinine_umol_l", 80)));

        Assert.Equal(a, b);
    }

    [Fact]
    public void DifferentStudiesOrModels_GiveDifferentKeys()
    {
        var f = Features((ClinicalFeatureNames.AgeYears, 60));

        Assert.NotEqual(ScoreCacheKey.Create("1.2.3", Sha, f), ScoreCacheKey.Create("1.2.4", Sha, f));
        Assert.NotEqual(ScoreCacheKey.Create("1.2.3", Sha, f), ScoreCacheKey.Create("1.2.3", new string('b', 64), f));
    }

    [Fact]
    public void Hash_IsSha256Hex()
    {
        Assert.Matches("^[0-9a-f]{64}$", ScoreCacheKey.HashClinicalFeatures(Features()));
    }

    [Fact]
    public void Create_Throws_WhenTheStudyUidIsEmpty()
    {
        Assert.Throws<ArgumentException>(() => ScoreCacheKey.Create(" ", Sha, Features()));
    }
}
