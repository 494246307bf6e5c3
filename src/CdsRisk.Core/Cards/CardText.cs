using System.Globalization;
using System.Text;

namespace CdsRisk.Core.Cards;

/// <summary>Text rules for cards: summary length and Markdown escaping.</summary>
public static class CardText
{
    /// <summary>CDS Hooks 2.0 §card-attributes: summary SHALL be less than 140 characters.</summary>
    public const int MaxSummaryLength = 139;

    /// <summary>A reason on a card is cut here (at a word) so that no one line of a card runs on; the whole reason is in the extension.</summary>
    public const int MaxReasonLength = 200;

    /// <summary>Shortens a summary to fit, ending it with an ellipsis; counts UTF-16 code units and never splits a surrogate pair.</summary>
    public static string FitSummary(string summary) => FitSummary(summary, MaxSummaryLength);

    /// <summary>Puts <paramref name="text"/> on one line of at most <paramref name="max"/> UTF-16 code units, ending a cut one with an ellipsis.</summary>
    public static string FitSummary(string text, int max)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 2);
        var oneLine = string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        if (oneLine.Length <= max)
        {
            return oneLine;
        }

        var cut = max - 1;
        if (char.IsHighSurrogate(oneLine[cut - 1]))
        {
            cut--;
        }

        return oneLine[..cut].TrimEnd() + "…";
    }

    /// <summary>Cuts a long text at the last space before <see cref="MaxReasonLength"/>, ending it with an ellipsis.</summary>
    public static string Shorten(string text)
    {
        if (text.Length <= MaxReasonLength)
        {
            return text;
        }

        var space = text.LastIndexOf(' ', MaxReasonLength - 1);
        var cut = space > MaxReasonLength / 2 ? space : MaxReasonLength - 1;
        if (char.IsHighSurrogate(text[cut - 1]))
        {
            cut--;
        }

        return text[..cut].TrimEnd(' ', ',', ';', ':') + "…";
    }

    /// <summary>Escapes text for a GFM table cell: Markdown punctuation is backslash-escaped, pipes included, and line breaks become spaces.</summary>
    public static string EscapeCell(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return "—";
        }

        var sb = new StringBuilder(text.Length + 8);
        var lastWasSpace = false;
        foreach (var c in text)
        {
            if (c is '\r' or '\n' or '\t')
            {
                if (!lastWasSpace)
                {
                    sb.Append(' ');
                }

                lastWasSpace = true;
                continue;
            }

            lastWasSpace = c == ' ';
            if (c is '\\' or '`' or '*' or '_' or '[' or ']' or '<' or '>' or '|' or '#' or '~' or '&' or '!' or '{' or '}')
            {
                sb.Append('\\');
            }

            sb.Append(c);
        }

        return sb.ToString().Trim();
    }

    /// <summary>Escapes running text (not in a table); same rules as <see cref="EscapeCell"/>.</summary>
    public static string EscapeInline(string? text) => EscapeCell(text);

    public static string Score(double value) => value.ToString("0.00", CultureInfo.InvariantCulture);

    /// <summary>A FHIR data category (resource type) in the words clinicians use.</summary>
    public static string DataCategory(string resourceType) => resourceType switch
    {
        "Condition" => "diagnoses and problems",
        "Observation" => "results and observations",
        "AllergyIntolerance" => "allergies",
        "MedicationStatement" or "MedicationRequest" => "medications",
        "Procedure" => "procedures",
        "ServiceRequest" => "orders",
        "Appointment" => "appointments",
        "ImagingStudy" => "imaging studies",
        _ => resourceType,
    };
}
