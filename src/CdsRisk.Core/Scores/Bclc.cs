namespace CdsRisk.Core.Scores;

/// <summary>A BCLC stage derived from tumour burden and liver function; Stage is null when inputs are missing (named in Missing).</summary>
public sealed record BclcDerivation(string? Stage, string Detail, IReadOnlyList<string> Missing);

/// <summary>
/// BCLC 2022 (Reig et al., J Hepatol 2022;76:681-93) for the early stages: 0 = single tumour &lt;= 2 cm, A = single tumour
/// or 2-3 nodules each &lt;= 3 cm, both with preserved liver function and PS 0. Performance status is deliberately left out:
/// the trial admits ECOG 0-1 and evaluates it as its own criterion. Vascular invasion and extrahepatic spread are not
/// in the record model and are not assessed.
/// </summary>
public static class Bclc
{
    public static BclcDerivation Derive(int? tumourCount, decimal? largestCm, bool? preservedLiverFunction)
    {
        var missing = new List<string>();
        if (tumourCount is null)
        {
            missing.Add("tumour count");
        }

        if (largestCm is null)
        {
            missing.Add("largest tumour size");
        }

        if (preservedLiverFunction is null)
        {
            missing.Add("liver function (Child-Pugh)");
        }

        if (preservedLiverFunction == false)
        {
            return new BclcDerivation("B+", "liver function not preserved: beyond BCLC A", missing);
        }

        if (tumourCount is > 3)
        {
            return new BclcDerivation("B", $"{tumourCount} nodules (more than 3)", missing);
        }

        if (tumourCount is null || largestCm is null || preservedLiverFunction is null)
        {
            return new BclcDerivation(null, "cannot derive: " + string.Join(", ", missing) + " missing", missing);
        }

        var size = $"{largestCm:0.#} cm";
        return tumourCount switch
        {
            < 1 => new BclcDerivation(null, "tumour count is 0", ["tumour count"]),
            1 when largestCm <= 2m => new BclcDerivation("0", $"single tumour {size} (≤ 2 cm)", []),
            1 => new BclcDerivation("A", $"single tumour {size}", []),
            _ when largestCm <= 3m => new BclcDerivation("A", $"{tumourCount} nodules, largest {size} (≤ 3 cm)", []),
            _ => new BclcDerivation("B", $"{tumourCount} nodules, largest {size} (> 3 cm)", []),
        };
    }
}
