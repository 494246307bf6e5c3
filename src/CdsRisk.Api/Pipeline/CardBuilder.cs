using System.Security.Cryptography;
using System.Text;
using CdsRisk.Api.Hooks;
using CdsRisk.Core.Eligibility;

namespace CdsRisk.Api.Pipeline;

/// <summary>Turns an evaluation into CDS Hooks cards; every card carries the <c>cdsrisk</c> extension and a uuid stable for its hook instance.</summary>
public static class CardBuilder
{
    public const string TrialUrl = "https://clinicaltrials.gov/study/NCT07282184";
    public const string EligibilityCardKind = "nct07282184-eligibility";

    public static IReadOnlyList<Card> Build(HookInvocation invocation, RiskEvaluation evaluation)
    {
        if (!evaluation.IsApplicable)
        {
            return [];
        }

        var card = new Card
        {
            Uuid = StableUuid(invocation.HookInstance, EligibilityCardKind).ToString(),
            Summary = Summary(evaluation),
            Indicator = evaluation.Outcome == EligibilityOutcome.Eligible ? "warning" : "info",
            Detail = Detail(evaluation),
            Source = new Source
            {
                Label = "CdsRisk — trial NCT07282184",
                Url = TrialUrl,
                Topic = new Coding { System = "https://cdsrisk.example.org/fhir/CodeSystem/card-topic", Code = EligibilityCardKind, Display = "NCT07282184 eligibility and PRE risk" },
            },
            Links = [new Link { Label = "NCT07282184 on ClinicalTrials.gov", Url = TrialUrl, Type = "absolute" }],
            Extension = new CardExtension { CdsRisk = CdsRiskCardExtension.From(evaluation.Outcome, evaluation.PreScore, evaluation.Model, evaluation.Criteria) },
        };
        return [card];
    }

    /// <summary>A name-based UUID (RFC 9562 version 5, SHA-1) of hook instance + card kind: a retried hook call yields the same card uuid, so feedback matches.</summary>
    public static Guid StableUuid(Guid hookInstance, string cardKind)
    {
        var name = Encoding.UTF8.GetBytes(hookInstance.ToString("D") + "/" + cardKind);
        var ns = CardNamespace.ToByteArray(bigEndian: true);
#pragma warning disable CA5350 // RFC 9562 §5.5 defines version 5 with SHA-1; this is naming, not security.
        var hash = SHA1.HashData([.. ns, .. name]);
#pragma warning restore CA5350
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash.AsSpan(0, 16), bigEndian: true);
    }

    private static readonly Guid CardNamespace = new("6f1c4b2e-8a5d-4c1e-9b7a-2d3e4f5a6b7c");

    private static string Summary(RiskEvaluation e)
    {
        var pre = e.PreScore is { } p ? $" (PRE {p:0.00})" : string.Empty;
        return e.Outcome switch
        {
            EligibilityOutcome.Eligible => $"NCT07282184: eligible, high risk of aggressive HCC recurrence{pre}; consider trial referral",
            EligibilityOutcome.Ineligible => $"NCT07282184: not eligible{pre}",
            EligibilityOutcome.LowRisk => $"NCT07282184: low PRE risk{pre}; the trial is for high-risk patients",
            EligibilityOutcome.Pending => $"NCT07282184: assessment pending{pre}",
            _ => "NCT07282184: eligibility cannot be decided yet; data is missing",
        };
    }

    private static string Detail(RiskEvaluation e)
    {
        var md = new StringBuilder();
        md.Append("| Criterion | Status | Reason |\n|---|---|---|\n");
        foreach (var c in e.Criteria)
        {
            md.Append("| ").Append(c.Id).Append(" | ").Append(c.Status.ToWire()).Append(" | ").Append(EscapeCell(c.Reason)).Append(" |\n");
        }

        md.Append("\nReference model trained on synthetic data; not for clinical use.");
        return md.ToString();
    }

    private static string EscapeCell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace('\n', ' ');
}
