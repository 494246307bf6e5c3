using System.Globalization;
using System.Text;
using CdsRisk.Core.Eligibility;

namespace CdsRisk.Core.Cards;

/// <summary>The parts of the Markdown detail that every card shares: the criteria table and the model's identity.</summary>
internal static class CardDetail
{
    public const string ReferenceModelLine =
        "**Reference model: trained on synthetic data only. Not for clinical use.**";

    public static void AppendCriteriaTable(StringBuilder md, IReadOnlyList<CriterionLine> lines)
    {
        md.AppendLine("### Trial criteria (NCT07282184)").AppendLine();
        md.AppendLine("| Criterion | Status | Reason | Evidence |");
        md.AppendLine("|---|---|---|---|");
        foreach (var line in lines)
        {
            md.Append("| ").Append(CardText.EscapeCell(line.Label))
              .Append(" | ").Append(StatusCell(line.Status))
              .Append(" | ").Append(CardText.EscapeCell(line.Reason))
              .Append(" | ").Append(EvidenceCell(line.Evidence))
              .AppendLine(" |");
        }

        md.AppendLine();
    }

    public static void AppendModel(StringBuilder md, ModelIdentity model, IReadOnlyList<string> imputed)
    {
        md.AppendLine("### Model").AppendLine();
        md.Append("Model ").Append(CardText.EscapeInline(model.Id))
          .Append(", version ").Append(CardText.EscapeInline(model.Version))
          .Append(", SHA-256 `").Append(model.Sha256).Append('`');
        if (model.ModelCardUrl is { } url)
        {
            md.Append(", [model card](<").Append(new Uri(url).AbsoluteUri).Append(">)");
        }

        md.AppendLine(".");
        if (imputed.Count > 0)
        {
            md.AppendLine().Append("Missing clinical inputs imputed with the training mean: ")
              .Append(string.Join(", ", imputed.Select(f => CardText.EscapeInline(CardCodes.FeatureLabel(f))))).AppendLine(".");
        }

        if (model.IsReferenceModel)
        {
            md.AppendLine().AppendLine(ReferenceModelLine);
        }
    }

    private static string StatusCell(string status) => status switch
    {
        "pass" => "pass",
        "fail" => "**fail**",
        "unknown" => "unknown",
        "to-be-confirmed" => "to be confirmed",
        "pending" => "pending",
        "not-evaluated" => "not evaluated",
        _ => CardText.EscapeCell(status),
    };

    private static string EvidenceCell(IReadOnlyList<Evidence> evidence)
    {
        if (evidence.Count == 0)
        {
            return "—";
        }

        return string.Join("; ", evidence.Select(e =>
        {
            var text = e.Value is null ? e.Description : $"{e.Description}: {e.Value}";
            if (e.Date is { } date)
            {
                text += " (" + date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + ")";
            }

            return CardText.EscapeCell(text);
        }));
    }
}
