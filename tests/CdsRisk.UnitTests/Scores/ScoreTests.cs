using CdsRisk.Core.Scores;

namespace CdsRisk.UnitTests.Scores;

public sealed class ChildPughTests
{
    // Points per Pugh et al., Br J Surg 1973;60:646-9 (with INR in place of prothrombin time, as in current practice):
    // bilirubin < 2 / 2-3 / > 3 mg/dL, albumin > 3.5 / 2.8-3.5 / < 2.8 g/dL, INR < 1.7 / 1.7-2.3 / > 2.3. Inputs in SI units here
    // (bilirubin umol/L = mg/dL x 17.1, albumin g/L = g/dL x 10).
    [Theory]
    [InlineData(17.1, 1)] // 1.0 mg/dL
    [InlineData(34.1, 1)]
    [InlineData(34.2, 2)] // exactly 2.0 mg/dL
    [InlineData(51.3, 2)] // exactly 3.0 mg/dL
    [InlineData(51.4, 3)]
    public void BilirubinPoints_FollowTheMgPerDlCutOffsConvertedExactly(double umol, int points) =>
        Assert.Equal(points, ChildPugh.BilirubinPoints((decimal)umol));

    [Theory]
    [InlineData(35.1, 1)]
    [InlineData(35, 2)] // 3.5 g/dL is not > 3.5
    [InlineData(28, 2)]
    [InlineData(27.9, 3)]
    public void AlbuminPoints_FollowTheCutOffs(double gPerL, int points) =>
        Assert.Equal(points, ChildPugh.AlbuminPoints((decimal)gPerL));

    [Theory]
    [InlineData(1.69, 1)]
    [InlineData(1.7, 2)]
    [InlineData(2.3, 2)]
    [InlineData(2.31, 3)]
    public void InrPoints_FollowTheCutOffs(double inr, int points) => Assert.Equal(points, ChildPugh.InrPoints((decimal)inr));

    // Worked examples: (1) bilirubin 1.0 mg/dL, albumin 3.6 g/dL, INR 1.2, no ascites, no encephalopathy = 1+1+1+1+1 = 5, class A;
    // (2) bilirubin 2.5 mg/dL, albumin 3.0 g/dL, INR 1.5, mild ascites, none = 2+2+1+2+1 = 8, class B;
    // (3) bilirubin 3.5 mg/dL, albumin 2.5 g/dL, INR 2.5, moderate ascites, grade 3 = 3+3+3+3+3 = 15, class C.
    [Theory]
    [InlineData(1.0, 3.6, 1.2, 0, 0, 5, "A")]
    [InlineData(2.5, 3.0, 1.5, 1, 0, 8, "B")]
    [InlineData(3.5, 2.5, 2.5, 2, 3, 15, "C")]
    [InlineData(1.0, 3.2, 1.8, 0, 0, 7, "B")]
    public void Calculate_MatchesWorkedExamples(double biliMgDl, double albGdl, double inr, int ascites, int he, int score, string cls)
    {
        var cp = ChildPugh.Calculate((decimal)biliMgDl * 17.1m, (decimal)albGdl * 10m, (decimal)inr, ascites, he);
        Assert.Equal(score, cp.Score);
        Assert.Equal(cls, cp.Class);
        Assert.Equal($"{cls}{score}", cp.Label);
        Assert.Empty(cp.Missing);
    }

    [Fact]
    public void Calculate_WithMissingParts_NamesThemAndBoundsTheScore()
    {
        var cp = ChildPugh.Calculate(20m, null, 1.1m, null, 0);
        Assert.Null(cp.Score);
        Assert.Equal([ChildPugh.Albumin, ChildPugh.Ascites], cp.Missing);
        Assert.Equal(5, cp.MinPossible);
        Assert.Equal(9, cp.MaxPossible);
    }

    [Fact]
    public void GradesOutsideTheirScales_AreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ChildPugh.AscitesPoints(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => ChildPugh.EncephalopathyPoints(5));
    }
}

public sealed class AlbiTests
{
    // ALBI = 0.66 x log10(bilirubin umol/L) - 0.085 x albumin g/L; grade 1 <= -2.60, 2 <= -1.39, 3 above
    // (Johnson et al., J Clin Oncol 2015;33:550-8). Expected scores worked by hand from that formula.
    [Theory]
    [InlineData(10, 45, -3.165, 1)]    // 0.66 x 1 - 3.825
    [InlineData(17, 40, -2.5879, 2)]   // 0.66 x 1.23045 - 3.4: just above the grade 1 cut-off
    [InlineData(34.2, 28, -1.3675, 3)] // 0.66 x 1.53403 - 2.38: just above the grade 2 cut-off
    [InlineData(20, 35, -2.1163, 2)]   // 0.66 x 1.30103 - 2.975
    public void Calculate_MatchesTheJohnson2015Formula(double bili, double alb, double score, int grade)
    {
        var albi = Albi.Calculate((decimal)bili, (decimal)alb);
        Assert.Equal(score, albi.Score, 3);
        Assert.Equal(grade, albi.Grade);
    }

    [Fact]
    public void Calculate_RejectsNonPositiveBilirubin() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Albi.Calculate(0m, 40m));
}

public sealed class BclcTests
{
    [Theory]
    [InlineData(1, 1.8, "0")]
    [InlineData(1, 2.0, "0")]
    [InlineData(1, 2.1, "A")]
    [InlineData(1, 8.0, "A")] // single tumour of any size
    [InlineData(3, 3.0, "A")]
    [InlineData(2, 3.1, "B")]
    [InlineData(4, 1.0, "B")]
    public void Derive_FollowsBclc2022TumourBurden(int count, double size, string stage) =>
        Assert.Equal(stage, Bclc.Derive(count, (decimal)size, true).Stage);

    [Fact]
    public void Derive_WithoutTumourCount_NamesWhatIsMissing()
    {
        var d = Bclc.Derive(null, 2.5m, true);
        Assert.Null(d.Stage);
        Assert.Contains("tumour count", d.Missing);
    }

    [Fact]
    public void Derive_WithLiverFunctionNotPreserved_IsBeyondA() =>
        Assert.Equal("B+", Bclc.Derive(1, 1.5m, false).Stage);
}

public sealed class CkdEpiTests
{
    // CKD-EPI 2021 (Inker et al., NEJM 2021): creatinine at kappa gives 142 x 0.9938^age (x 1.012 female).
    [Fact]
    public void Egfr2021_AtKappa_Is142TimesAgeFactor()
    {
        Assert.Equal(142 * Math.Pow(0.9938, 50), CkdEpi.Egfr2021(0.9, 50, male: true), 6);
        Assert.Equal(142 * Math.Pow(0.9938, 50) * 1.012, CkdEpi.Egfr2021(0.7, 50, male: false), 6);
    }

    [Fact]
    public void Egfr2021_FallsWithCreatinine() =>
        Assert.True(CkdEpi.Egfr2021(3.0, 60, true) < 30 && CkdEpi.Egfr2021(1.0, 60, true) > 60);
}
