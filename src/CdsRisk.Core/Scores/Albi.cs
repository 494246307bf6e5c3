namespace CdsRisk.Core.Scores;

public sealed record AlbiScore(double Score, int Grade);

/// <summary>ALBI grade (Johnson et al., J Clin Oncol 2015;33:550-8).</summary>
public static class Albi
{
    public const double Grade1Max = -2.60;
    public const double Grade2Max = -1.39;

    public static AlbiScore Calculate(decimal bilirubinUmolPerL, decimal albuminGPerL)
    {
        if (bilirubinUmolPerL <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bilirubinUmolPerL), "bilirubin must be positive for log10");
        }

        var score = (0.66 * Math.Log10((double)bilirubinUmolPerL)) - (0.085 * (double)albuminGPerL);
        var grade = score <= Grade1Max ? 1 : score <= Grade2Max ? 2 : 3;
        return new AlbiScore(score, grade);
    }
}
