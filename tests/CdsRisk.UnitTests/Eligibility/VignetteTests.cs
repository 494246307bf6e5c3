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
        var inputs = new EligibilityInputs(DateTimeOffset.Parse(expected.GetProperty("evaluatedAt").GetString()!), Vignette.Pre(expected.GetProperty("pre")));

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

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }
}
