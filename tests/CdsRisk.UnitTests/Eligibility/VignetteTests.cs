using CdsRisk.Core.Eligibility;

namespace CdsRisk.UnitTests.Eligibility;

/// <summary>
/// Every vignette under TestData/vignettes (written by generate_vignettes.py) is evaluated and checked criterion by criterion:
/// status and the key words of the reason for all 17 criteria, the overall outcome and what the clinician is asked to record.
/// </summary>
public sealed class VignetteTests
{
    private static readonly EligibilityEngine Engine = new(EligibilityData.LoadEmbedded());

    public static TheoryData<string> Names() => [.. Vignette.Names()];

    /// <summary>Words of the code, UCUM or the imaging pipeline that must never reach a reason or a request to record.</summary>
    internal static readonly string[] InternalWords =
    [
        "PhaseMissing", "umol/L", "{INR}", "{1.73_m2}", "mm[Hg]", "10*3", "10*9", "point(s)", "ascites: None", "SHA-256", "1.2.826.", "(window ",
    ];

    [Fact]
    public void AtLeastThirtyVignettesExist_EachExpectingAllSeventeenCriteria()
    {
        var names = Vignette.Names().ToList();
        Assert.True(names.Count >= 30, $"{names.Count} vignettes");
        foreach (var name in names)
        {
            var ids = Vignette.Expected(name).GetProperty("criteria").EnumerateObject().Select(p => p.Name).Order().ToList();
            Assert.Equal(CriterionIds.All.Order(), ids);
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Vignette_EvaluatesEveryCriterionAsExpected(string name)
    {
        var expected = Vignette.Expected(name);
        var inputs = Vignette.Inputs(expected);

        var result = Engine.Evaluate(Vignette.Record(name), inputs);

        Assert.Equal(CriterionIds.All, result.Criteria.Select(c => c.Id));
        var problems = new List<string>();
        foreach (var c in expected.GetProperty("criteria").EnumerateObject())
        {
            var actual = result[c.Name];
            var status = c.Value.GetProperty("status").GetString();
            if (actual.Status.ToWire() != status)
            {
                problems.Add($"{c.Name}: expected {status}, got {actual.Status.ToWire()} ({actual.Reason})");
            }

            foreach (var word in c.Value.GetProperty("reason").EnumerateArray().Select(w => w.GetString()!))
            {
                if (!actual.Reason.Contains(word, StringComparison.OrdinalIgnoreCase))
                {
                    problems.Add($"{c.Name}: reason '{actual.Reason}' lacks '{word}'");
                }
            }

            if (actual.Status == CriterionStatus.Unknown && actual.Id != CriterionIds.PreScore && string.IsNullOrWhiteSpace(actual.ToRecord))
            {
                problems.Add($"{c.Name}: unknown without a ToRecord");
            }

            if (actual.Status != CriterionStatus.Unknown && actual.ToRecord is not null)
            {
                problems.Add($"{c.Name}: {actual.Status.ToWire()} with a ToRecord");
            }
        }

        var outcome = expected.GetProperty("outcome").GetString();
        if (result.Outcome.ToWire() != outcome)
        {
            problems.Add($"outcome: expected {outcome}, got {result.Outcome.ToWire()} ({result.Summary})");
        }

        foreach (var word in expected.GetProperty("toRecord").EnumerateArray().Select(w => w.GetString()!))
        {
            if (!result.ToRecord.Any(t => t.Contains(word, StringComparison.OrdinalIgnoreCase)))
            {
                problems.Add($"toRecord [{string.Join(" | ", result.ToRecord)}] lacks '{word}'");
            }
        }

        if (expected.TryGetProperty("toRecordCount", out var count) && result.ToRecord.Count != count.GetInt32())
        {
            problems.Add($"toRecord has {result.ToRecord.Count} items, expected {count.GetInt32()}: [{string.Join(" | ", result.ToRecord)}]");
        }

        if (expected.TryGetProperty("preIsMeaningful", out var meaningful) && result.PreIsMeaningful != meaningful.GetBoolean())
        {
            problems.Add($"preIsMeaningful: expected {meaningful.GetBoolean()}, got {result.PreIsMeaningful} ({result.PreNotUsedReason})");
        }

        if (expected.TryGetProperty("selectedStudy", out var study) && result.Snapshot.LatestMri?.Reference != study.GetString())
        {
            problems.Add($"MR study used: {result.Snapshot.LatestMri?.Reference}, expected {study.GetString()}");
        }

        if (expected.TryGetProperty("imputed", out var imputed)
            && !imputed.EnumerateArray().Select(w => w.GetString()!).SequenceEqual(result.ImputedInputs))
        {
            problems.Add($"imputed inputs: [{string.Join(", ", result.ImputedInputs)}]");
        }

        // No internal words in what the clinician reads (issue 14 section 4).
        foreach (var c in result.Criteria)
        {
            foreach (var text in new[] { c.Reason, c.ToRecord }.OfType<string>())
            {
                foreach (var word in InternalWords)
                {
                    if (text.Contains(word, StringComparison.Ordinal))
                    {
                        problems.Add($"{c.Id}: '{word}' in \"{text}\"");
                    }
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }
}
