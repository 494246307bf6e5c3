using Hl7.Fhir.Model;

namespace CdsRisk.Core.Eligibility;

public sealed record CodeEntry(string System, string Code, string? Display, string? Value);

/// <summary>One site-editable code list: exact codes, code prefixes per system (e.g. ICD-10 "I50") and case-insensitive text patterns
/// matched at the start of a word (see <see cref="FindIn"/>), with code prefixes and phrases that never match.</summary>
public sealed class ValueSet
{
    private readonly Dictionary<(string System, string Code), CodeEntry> _codes;
    private readonly IReadOnlyList<CodeEntry> _codeList;
    private readonly IReadOnlyList<CodeEntry> _prefixes;
    private readonly IReadOnlyList<string> _textPatterns;

    private readonly IReadOnlyList<CodeEntry> _excludePrefixes;
    private readonly IReadOnlyList<string> _excludeText;

    public ValueSet(string id, IEnumerable<CodeEntry> codes, IEnumerable<CodeEntry> prefixes, IEnumerable<string> textPatterns,
        IEnumerable<CodeEntry>? excludeCodePrefixes = null, IEnumerable<string>? excludeTextPatterns = null)
    {
        Id = id;
        _excludePrefixes = [.. excludeCodePrefixes ?? []];
        _excludeText = [.. excludeTextPatterns ?? []];
        _codeList = [.. codes];
        _codes = new Dictionary<(string, string), CodeEntry>();
        foreach (var c in _codeList)
        {
            _codes[(c.System, c.Code)] = c;
        }

        _prefixes = [.. prefixes];
        _textPatterns = [.. textPatterns.Select(p => p.ToLowerInvariant())];
    }

    public string Id { get; }

    /// <summary>The exact codes, in file order.</summary>
    public IReadOnlyList<CodeEntry> Codes => _codeList;

    /// <summary>The entry for a coding, by exact code or by prefix; null when not in the set.</summary>
    public CodeEntry? Find(Coding? coding)
    {
        if (coding?.Code is null || coding.System is null)
        {
            return null;
        }

        if (_codes.TryGetValue((coding.System, coding.Code), out var entry))
        {
            return entry;
        }

        foreach (var p in _prefixes)
        {
            if (p.System == coding.System && coding.Code.StartsWith(p.Code, StringComparison.OrdinalIgnoreCase))
            {
                return p;
            }
        }

        return null;
    }

    public bool MatchesCode(CodeableConcept? concept) => FindCode(concept) is not null;

    public CodeEntry? FindCode(CodeableConcept? concept)
    {
        if (concept is null)
        {
            return null;
        }

        foreach (var coding in concept.Coding)
        {
            var e = Find(coding);
            if (e is not null)
            {
                return e;
            }
        }

        return null;
    }

    /// <summary>The first text pattern found in the concept's text or codings' displays.</summary>
    public string? MatchText(CodeableConcept? concept) => concept is null ? null : FindPattern(concept, _textPatterns);

    // Plain loops rather than LINQ or iterators: this runs for every Condition against every code list.
    private static string? FindPattern(CodeableConcept concept, IReadOnlyList<string> patterns)
    {
        if (patterns.Count == 0)
        {
            return null;
        }

        if (!string.IsNullOrEmpty(concept.Text) && FindIn(concept.Text, patterns) is { } inText)
        {
            return inText;
        }

        foreach (var c in concept.Coding)
        {
            if (!string.IsNullOrEmpty(c.Display) && FindIn(c.Display, patterns) is { } inDisplay)
            {
                return inDisplay;
            }
        }

        return null;
    }

    /// <summary>
    /// The first pattern that occurs in the text at the start of a word ("malignan" in "malignant neoplasm", never inside
    /// "premalignant"); a pattern that starts with '*' may also start inside a word ("*sarcoma" in "osteosarcoma"). The match
    /// is open at its end, so a stem ("malignan", "metastas") covers its inflections.
    /// </summary>
    internal static string? FindIn(string text, IReadOnlyList<string> patterns)
    {
        for (var i = 0; i < patterns.Count; i++)
        {
            if (OccursAtWordStart(text, patterns[i]))
            {
                return patterns[i];
            }
        }

        return null;
    }

    private static bool OccursAtWordStart(string text, string pattern)
    {
        var inWord = pattern.StartsWith('*');
        var needle = inWord ? pattern.AsSpan(1) : pattern.AsSpan();
        if (needle.IsEmpty)
        {
            return false;
        }

        var span = text.AsSpan();
        var from = 0;
        while (from <= span.Length - needle.Length)
        {
            var at = span[from..].IndexOf(needle, StringComparison.OrdinalIgnoreCase);
            if (at < 0)
            {
                return false;
            }

            at += from;
            if (inWord || at == 0 || !char.IsLetterOrDigit(span[at - 1]))
            {
                return true;
            }

            from = at + 1;
        }

        return false;
    }

    /// <summary>
    /// By code, else by text. An excluded code prefix (e.g. ICD-10 Z80 family history) never matches; an excluded text
    /// ("family history", "suspected") only stops the text fallback, so that a mention of a disease is not read as the disease.
    /// </summary>
    public bool Matches(CodeableConcept? concept)
    {
        if (concept is null || ExcludedByCode(concept))
        {
            return false;
        }

        return MatchesCode(concept) || (!ExcludedByText(concept) && MatchText(concept) is not null);
    }

    private bool ExcludedByCode(CodeableConcept concept)
    {
        foreach (var c in concept.Coding)
        {
            foreach (var p in _excludePrefixes)
            {
                if (c.Code is not null && p.System == c.System && c.Code.StartsWith(p.Code, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private bool ExcludedByText(CodeableConcept concept) => FindPattern(concept, _excludeText) is not null;

    internal static IEnumerable<string> Texts(CodeableConcept concept)
    {
        if (!string.IsNullOrWhiteSpace(concept.Text))
        {
            yield return concept.Text;
        }

        foreach (var c in concept.Coding)
        {
            if (!string.IsNullOrWhiteSpace(c.Display))
            {
                yield return c.Display;
            }
        }
    }
}

public enum DrugMatchAction
{
    Fail,
    ToBeConfirmed,
}

/// <summary>How strongly a concept was tied to a drug class: an exact code names the drug, an ATC prefix its group, text is the weakest.</summary>
public enum DrugMatchLevel
{
    Code,
    AtcClass,
    Text,
}

/// <summary>
/// One match of a concept to a drug class: how (for the reason text) and which drug within the class (<see cref="Drug"/>: the code's
/// display, the ATC code or the text pattern), so that two matches can be told apart as the same drug or only the same class.
/// </summary>
public sealed record DrugMatch(DrugMatchLevel Level, string How, string Drug);

/// <summary>A drug or drug class an allergy is matched against, tied to one regimen drug of the trial.</summary>
public sealed record DrugClass(string Id, string Name, string RegimenDrug, DrugMatchAction OnMatch, ValueSet Codes, IReadOnlyList<string> AtcPrefixes)
{
    public const string AtcSystem = "http://www.whocc.no/atc";

    /// <summary>How the concept matches this class ("code RxNorm 32592", "ATC class L01FF", "text 'camrelizumab'"), or null.</summary>
    public string? Match(CodeableConcept? concept) =>
        (MatchAt(concept, DrugMatchLevel.Code) ?? MatchAt(concept, DrugMatchLevel.AtcClass) ?? MatchAt(concept, DrugMatchLevel.Text))?.How;

    /// <summary>The match at one level only, or null.</summary>
    public DrugMatch? MatchAt(CodeableConcept? concept, DrugMatchLevel level)
    {
        if (concept is null)
        {
            return null;
        }

        switch (level)
        {
            case DrugMatchLevel.Code:
                return Codes.FindCode(concept) is { } byCode
                    ? new DrugMatch(level, $"code {byCode.Code}", (byCode.Display ?? byCode.Code).ToLowerInvariant())
                    : null;
            case DrugMatchLevel.AtcClass:
                foreach (var c in concept.Coding)
                {
                    if (c.System == AtcSystem && c.Code is not null)
                    {
                        foreach (var prefix in AtcPrefixes)
                        {
                            if (c.Code.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                            {
                                return new DrugMatch(level, $"ATC {c.Code} (class {prefix})", c.Code.ToUpperInvariant());
                            }
                        }
                    }
                }

                return null;
            default:
                return Codes.MatchText(concept) is { } text ? new DrugMatch(level, $"text \"{text.TrimStart('*')}\"", text.TrimStart('*')) : null;
        }
    }
}

/// <summary>All code lists, by id. The ids the engine needs are checked at load time.</summary>
public sealed class ValueSets
{
    public static readonly IReadOnlyList<string> RequiredIds =
    [
        "hcc", "liver-malignancy-unspecified", "liver-malignancy-non-hcc", "hcc-basis", "bclc-stage", "obs-bclc-stage", "cholangiocarcinoma",
        "malignancy", "malignancy-in-situ", "malignancy-secondary", "vascular-invasion",
        "cardiac-myocardial-infarction", "cardiac-unstable-angina", "cardiac-arrhythmia",
        "malignancy-exception-cervix-in-situ", "malignancy-exception-skin-non-melanoma", "malignancy-exception-very-low-risk",
        "malignancy-history", "heart-failure", "hypertension", "ckd-severe", "ascites-condition", "encephalopathy-condition", "liver-resection",
        "obs-bilirubin", "obs-albumin", "obs-inr", "obs-creatinine", "obs-egfr", "obs-afp", "obs-platelets",
        "obs-tumour-size", "obs-tumour-count", "obs-ecog", "ecog-grade", "obs-bp-panel", "obs-bp-systolic", "obs-bp-diastolic",
        "obs-nyha", "nyha-class", "obs-ascites", "ascites-grade", "condition-severity", "obs-encephalopathy",
    ];

    private readonly IReadOnlyDictionary<string, ValueSet> _sets;

    public ValueSets(string version, IReadOnlyDictionary<string, ValueSet> sets, IReadOnlyList<DrugClass> drugClasses)
    {
        Version = version;
        _sets = sets;
        DrugClasses = drugClasses;
    }

    public string Version { get; }

    public IReadOnlyList<DrugClass> DrugClasses { get; }

    public ValueSet this[string id] => _sets.TryGetValue(id, out var s) ? s : throw new KeyNotFoundException($"value set '{id}' is not loaded");

    public bool Contains(string id) => _sets.ContainsKey(id);
}
