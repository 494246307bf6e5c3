using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace CdsRisk.TestSupport;

/// <summary>
/// What no card may say (issue 14 sections 1, 4 and 5), checked on a whole CDS Hooks response as it goes on the wire: every text a
/// card, suggestion, action or action resource carries, and the reasons and requests of the <c>cdsrisk</c> extension.
/// Shared by the unit tests (vignettes, fixtures) and the integration tests (demo scenarios, order hooks): the file is linked.
/// </summary>
public static partial class CardWording
{
    /// <summary>Members that hold identifiers, URLs, codes or hashes, not words for a person.</summary>
    private static readonly HashSet<string> NotText = new(StringComparer.Ordinal)
    {
        "uuid", "url", "appContext", "sha256", "reference", "resourceId", "system", "code", "resourceType", "id", "status", "intent",
        "type", "indicator", "selectionBehavior", "outcome", "card", "risk", "protocolVersion", "date", "riskAssessment",
    };

    /// <summary>Units and words of the code, UCUM or the imaging pipeline (VignetteTests.InternalWords and more), anywhere.</summary>
    public static readonly string[] InternalWords =
    [
        "PhaseMissing", "umol/L", "{INR}", "{1.73_m2}", "mm[Hg]", "10*3", "10*9", "point(s)", "ascites: None", "SHA-256", "(window ", "urn:oid:",
    ];

    /// <summary>The criterion ids of the wire (those that are not also plain words), which a person should never read.</summary>
    private static readonly string[] CriterionIds =
    [
        "bclc-stage", "resection-scheduled", "pre-score", "child-pugh", "mri-4-phase", "non-hcc-pathology", "other-malignancy",
        "early-death-or-loss", "regimen-hypersensitivity", "heart-failure", "severe-renal-dysfunction", "uncontrolled-hypertension",
        "investigator-judgement",
    ];

    /// <summary>
    /// Wording that directs treatment or an operation: a verb of starting, giving, offering, delaying or withholding followed, in
    /// the same clause, by a treatment, an operation or an order; sequencing before surgery; care pathways.
    /// </summary>
    [GeneratedRegex(
        @"\b(?:start|starting|give|giving|offer|offering|begin|beginning|initiate|initiating|administer|administering|delay|delaying|defer|deferring|postpone|postponing|withhold|withholding|hold|holding|stop|stopping|cancel|cancelling|schedule|scheduling|proceed)\b[^.;:\n]{0,60}?\b(?:therap\w*|treatment\w*|surgery|surgical|resection|operation|neoadjuvant|adjuvant|chemotherap\w*|hepatectomy|order)\b"
        + @"|\bbefore (?:the )?(?:surgery|resection|operation|hepatectomy)\b"
        + @"|\b(?:surgical|treatment|care) pathway\b"
        + @"|\bnot indicated\b",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    public static partial Regex Directive();

    /// <summary>A DICOM UID (dotted digits) or a SHA-256 in hex.</summary>
    [GeneratedRegex(@"\b[0-2](?:\.\d+){5,}\b|\b[0-9a-f]{64}\b")]
    private static partial Regex UidOrHash();

    /// <summary>A FHIR reference such as Observation/abc: a record's internal id, not something a clinician reads.</summary>
    [GeneratedRegex(@"\b(?:Patient|Condition|Observation|AllergyIntolerance|MedicationRequest|ServiceRequest|Procedure|ImagingStudy|RiskAssessment|Appointment|Encounter)/[A-Za-z0-9\-\.]+")]
    private static partial Regex FhirReference();

    /// <summary>Every text of the cards of a response, with its JSON path; <c>Displayed</c> is false inside the extension.</summary>
    public static IEnumerable<(string Path, string Text, bool Displayed)> Texts(JsonNode? response) =>
        response is JsonObject o ? Walk("$.cards", o["cards"], displayed: true) : Walk("$", response, displayed: true);

    /// <summary>
    /// Every text of the response's systemActions (the RiskAssessment write-back): records for machines, which rightly carry the
    /// model's hash and profile URLs, so only directive wording is looked for there.
    /// </summary>
    private static IEnumerable<(string Path, string Text)> SystemActionTexts(JsonNode? response) =>
        response is JsonObject o ? Walk("$.systemActions", o["systemActions"], displayed: false).Select(t => (t.Item1, t.Item2)) : [];

    /// <summary>Everything wrong with the wording of a response, one line per finding (empty when there is nothing).</summary>
    public static List<string> Problems(JsonNode? response)
    {
        var problems = new List<string>();
        foreach (var (path, text, displayed) in Texts(response))
        {
            problems.AddRange(Problems(text, displayed).Select(p => $"{path}: {p} in \"{text}\""));
        }

        foreach (var (path, text) in SystemActionTexts(response))
        {
            problems.AddRange(Directive().Matches(text).Select(m => $"{path}: directive wording '{m.Value}' in \"{text}\""));
        }

        return problems;
    }

    /// <summary>What is wrong with one text; <paramref name="displayed"/>: shown on the card (summary, detail, labels, descriptions).</summary>
    public static IEnumerable<string> Problems(string text, bool displayed)
    {
        foreach (Match m in Directive().Matches(text))
        {
            yield return $"directive wording '{m.Value}'";
        }

        foreach (var word in InternalWords.Where(w => text.Contains(w, StringComparison.Ordinal)))
        {
            yield return $"internal word '{word}'";
        }

        foreach (Match m in UidOrHash().Matches(text))
        {
            yield return $"UID or hash '{m.Value}'";
        }

        if (!displayed)
        {
            yield break;
        }

        foreach (var id in CriterionIds.Where(id => Regex.IsMatch(text, $@"(?<![\w-]){Regex.Escape(id)}(?![\w-])")))
        {
            yield return $"criterion id '{id}'";
        }

        foreach (Match m in FhirReference().Matches(text))
        {
            yield return $"record id '{m.Value}'";
        }

        // A word this long makes the card wider than the EHR's card pane (the Sandbox's is about 680 px).
        foreach (var word in text.Split([' ', '\n', '|'], StringSplitOptions.RemoveEmptyEntries).Where(w => w.Length > 40))
        {
            yield return $"a {word.Length}-character word '{word}'";
        }
    }

    private static IEnumerable<(string, string, bool)> Walk(string path, JsonNode? node, bool displayed)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, value) in o)
                {
                    if (NotText.Contains(key) && value is JsonValue)
                    {
                        continue;
                    }

                    // The extension is for machines: its reasons and requests are checked, but not as text on the card.
                    foreach (var t in Walk($"{path}.{key}", value, displayed && key != "extension"))
                    {
                        yield return t;
                    }
                }

                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    foreach (var t in Walk($"{path}[{i}]", a[i], displayed))
                    {
                        yield return t;
                    }
                }

                break;
            case JsonValue v when v.TryGetValue<string>(out var s):
                yield return (path, s, displayed);
                break;
        }
    }
}
