using System.Text;

namespace CdsRisk.Core.Cards;

/// <summary>The one line about the model that cards showing a PRE end with.</summary>
internal static class CardDetail
{
    public const string ReferenceModelNote = "trained on synthetic data only, **not for clinical use**";

    /// <summary>"Model pre-reference 1.0.0 (trained on synthetic data only, not for clinical use). Imputed with the training mean: platelet count."</summary>
    public static void AppendModel(StringBuilder md, ModelIdentity model, IReadOnlyList<string> imputed)
    {
        md.Append("Model ").Append(CardText.EscapeInline(model.Id)).Append(' ').Append(CardText.EscapeInline(model.Version));
        if (model.IsReferenceModel)
        {
            md.Append(" (").Append(ReferenceModelNote).Append(')');
        }

        md.Append('.');
        if (imputed.Count > 0)
        {
            md.Append(" Imputed with the training mean: ")
              .Append(string.Join(", ", imputed.Select(f => CardText.EscapeInline(CardCodes.FeatureLabel(f))))).Append('.');
        }

        md.AppendLine().AppendLine();
    }
}
