namespace CdsRisk.Core.Scores;

/// <summary>One Child-Pugh part with its points; Points is null when the part is missing.</summary>
public sealed record ChildPughPart(string Name, int? Points, string Detail);

/// <summary>
/// Child-Pugh score. When parts are missing, Score is null and MinPossible/MaxPossible bound it
/// (a missing part scores 1 to 3), so that a score already above a threshold can still be acted on.
/// </summary>
public sealed record ChildPughScore(int? Score, string? Class, IReadOnlyList<ChildPughPart> Parts, int MinPossible, int MaxPossible)
{
    public IReadOnlyList<string> Missing => [.. Parts.Where(p => p.Points is null).Select(p => p.Name)];

    /// <summary>"A5", "B7" ...</summary>
    public string? Label => Score is null ? null : $"{Class}{Score}";
}

/// <summary>Child-Turcotte-Pugh (Pugh et al., Br J Surg 1973;60:646-9), points 1/2/3 per part; class A 5-6, B 7-9, C 10-15.</summary>
public static class ChildPugh
{
    public const string Bilirubin = "bilirubin";
    public const string Albumin = "albumin";
    public const string Inr = "INR";
    public const string Ascites = "ascites";
    public const string Encephalopathy = "encephalopathy";

    // mg/dL cut-offs 2 and 3, in umol/L (x 17.1) so that 2.0 mg/dL and 34.2 umol/L score alike.
    public static int BilirubinPoints(decimal umolPerL) => umolPerL < 34.2m ? 1 : umolPerL <= 51.3m ? 2 : 3;

    // g/dL cut-offs > 3.5 and < 2.8, in g/L.
    public static int AlbuminPoints(decimal gPerL) => gPerL > 35m ? 1 : gPerL >= 28m ? 2 : 3;

    public static int InrPoints(decimal inr) => inr < 1.7m ? 1 : inr <= 2.3m ? 2 : 3;

    /// <summary>Ascites grade 0 none, 1 mild, 2 moderate to severe.</summary>
    public static int AscitesPoints(int grade) => grade switch
    {
        0 => 1,
        1 => 2,
        2 => 3,
        _ => throw new ArgumentOutOfRangeException(nameof(grade), grade, "ascites grade is 0, 1 or 2"),
    };

    /// <summary>West Haven grade 0-4.</summary>
    public static int EncephalopathyPoints(int grade) => grade switch
    {
        0 => 1,
        1 or 2 => 2,
        3 or 4 => 3,
        _ => throw new ArgumentOutOfRangeException(nameof(grade), grade, "encephalopathy grade is 0 to 4"),
    };

    public static string ClassOf(int score) => score switch
    {
        >= 5 and <= 6 => "A",
        >= 7 and <= 9 => "B",
        >= 10 and <= 15 => "C",
        _ => throw new ArgumentOutOfRangeException(nameof(score), score, "Child-Pugh score is 5 to 15"),
    };

    public static ChildPughScore Calculate(decimal? bilirubinUmolPerL, decimal? albuminGPerL, decimal? inr, int? ascitesGrade, int? encephalopathyGrade)
    {
        ChildPughPart[] parts =
        [
            new(Bilirubin, bilirubinUmolPerL is { } b ? BilirubinPoints(b) : null, bilirubinUmolPerL is { } b2 ? $"{b2:0.#} µmol/L" : "missing"),
            new(Albumin, albuminGPerL is { } a ? AlbuminPoints(a) : null, albuminGPerL is { } a2 ? $"{a2:0.#} g/L" : "missing"),
            new(Inr, inr is { } i ? InrPoints(i) : null, inr is { } i2 ? $"{i2:0.##}" : "missing"),
            new(Ascites, ascitesGrade is { } g ? AscitesPoints(g) : null, ascitesGrade switch { 0 => "absent", 1 => "mild", 2 => "moderate to severe", _ => "missing" }),
            new(Encephalopathy, encephalopathyGrade is { } e ? EncephalopathyPoints(e) : null, encephalopathyGrade is { } e2 ? (e2 == 0 ? "absent" : $"grade {e2}") : "missing"),
        ];
        var known = parts.Where(p => p.Points is not null).Sum(p => p.Points!.Value);
        var missing = parts.Count(p => p.Points is null);
        var score = missing == 0 ? known : (int?)null;
        return new ChildPughScore(score, score is { } s ? ClassOf(s) : null, parts, known + missing, known + (3 * missing));
    }
}
