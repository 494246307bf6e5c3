using System.Reflection;
using System.Text.Json;

namespace CdsRisk.Core.Eligibility;

/// <summary>A protocol or value-set file is invalid: names the file and the JSON path of the bad field.</summary>
public sealed class EligibilityDataException : Exception
{
    public EligibilityDataException(string file, string jsonPath, string problem)
        : base($"{file}: {jsonPath}: {problem}")
    {
        File = file;
        JsonPath = jsonPath;
        Problem = problem;
    }

    public string File { get; }
    public string JsonPath { get; }
    public string Problem { get; }
}

/// <summary>The protocol and value sets an <see cref="EligibilityEngine"/> runs on.</summary>
public sealed record EligibilityData(ProtocolSettings Protocol, ValueSets ValueSets)
{
    /// <summary>The follow-up schedule and safety-signal thresholds (protocol file, <c>followUp</c>; issue 17).</summary>
    public FollowUp.FollowUpSettings FollowUp { get; init; } = CdsRisk.Core.FollowUp.FollowUpSettings.Default;

    public const string ProtocolFileName = "nct07282184.protocol.json";
    public const string ValueSetsFileName = "nct07282184.valuesets.json";

    /// <summary>From a site folder when given (both files must be there), else the files built into the assembly.</summary>
    public static EligibilityData Load(string? directory = null) =>
        string.IsNullOrWhiteSpace(directory) ? LoadEmbedded() : LoadFromDirectory(directory);

    public static EligibilityData LoadFromDirectory(string directory)
    {
        var protocolPath = Path.Combine(directory, ProtocolFileName);
        var valueSetsPath = Path.Combine(directory, ValueSetsFileName);
        var protocol = ReadFile(protocolPath);
        return new EligibilityData(
            ParseProtocol(protocol, protocolPath),
            ParseValueSets(ReadFile(valueSetsPath), valueSetsPath))
        {
            FollowUp = CdsRisk.Core.FollowUp.FollowUpSettings.Parse(protocol, protocolPath),
        };
    }

    public static EligibilityData LoadEmbedded()
    {
        var protocol = ReadEmbedded(ProtocolFileName);
        return new EligibilityData(ParseProtocol(protocol, ProtocolFileName), ParseValueSets(ReadEmbedded(ValueSetsFileName), ValueSetsFileName))
        {
            FollowUp = CdsRisk.Core.FollowUp.FollowUpSettings.Parse(protocol, ProtocolFileName),
        };
    }

    private static string ReadFile(string path)
    {
        try
        {
            return System.IO.File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EligibilityDataException(path, "$", $"cannot be read ({e.GetType().Name})");
        }
    }

    private static string ReadEmbedded(string fileName)
    {
        var assembly = typeof(EligibilityData).Assembly;
        var name = assembly.GetManifestResourceNames().Single(n => n.EndsWith(fileName, StringComparison.Ordinal));
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    public static ProtocolSettings ParseProtocol(string json, string file)
    {
        var r = new JsonFields(file);
        using var doc = r.Parse(json);
        var root = r.Object(doc.RootElement, "$");
        var windows = r.Object(r.Prop(root, "$", "windowsDays"), "$.windowsDays");
        int W(string name) => r.Int(windows, "$.windowsDays", name, 1, 3650);
        var bp = r.Object(r.Prop(root, "$", "bloodPressure"), "$.bloodPressure");
        var conflicts = r.Object(r.Prop(root, "$", "conflicts"), "$.conflicts");
        var childPugh = r.Object(r.Prop(root, "$", "childPugh"), "$.childPugh");
        var age = r.Object(r.Prop(root, "$", "age"), "$.age");
        var mri = r.Object(r.Prop(root, "$", "mri"), "$.mri");

        var minAge = r.Int(age, "$.age", "minYears", 0, 120);
        var maxAge = r.Int(age, "$.age", "maxYears", 0, 120);
        if (maxAge < minAge)
        {
            throw new EligibilityDataException(file, "$.age.maxYears", $"must be >= minYears ({minAge})");
        }

        var stages = r.StringArray(r.Object(r.Prop(root, "$", "bclc"), "$.bclc"), "$.bclc", "admittedStages");
        for (var i = 0; i < stages.Count; i++)
        {
            if (stages[i] is not ("0" or "A" or "B" or "C" or "D"))
            {
                throw new EligibilityDataException(file, $"$.bclc.admittedStages[{i}]", $"'{stages[i]}' is not a BCLC stage (0, A, B, C, D)");
            }
        }

        var preScore = r.Object(r.Prop(root, "$", "preScore"), "$.preScore");
        var keyInputs = r.StringArray(preScore, "$.preScore", "keyInputs");
        for (var i = 0; i < keyInputs.Count; i++)
        {
            if (!Scoring.ClinicalFeatureNames.All.Contains(keyInputs[i]))
            {
                throw new EligibilityDataException(file, $"$.preScore.keyInputs[{i}]",
                    $"'{keyInputs[i]}' is not a model input ({string.Join(", ", Scoring.ClinicalFeatureNames.All)})");
            }
        }

        return new ProtocolSettings
        {
            ProtocolId = r.String(root, "$", "protocolId"),
            Version = r.String(root, "$", "version"),
            PreThreshold = (double)r.Decimal(preScore, "$.preScore", "threshold", 0m, 1m),
            PreKeyInputs = keyInputs,
            MinAgeYears = minAge,
            MaxAgeYears = maxAge,
            ChildPughMaxScore = r.Int(childPugh, "$.childPugh", "maxScore", 5, 15),
            ChildPughNote = r.String(childPugh, "$.childPugh", "note"),
            EcogMax = r.Int(r.Object(r.Prop(root, "$", "ecog"), "$.ecog"), "$.ecog", "max", 0, 5),
            AdmittedBclcStages = stages,
            MriWindowDays = r.Int(mri, "$.mri", "windowDays", 1, 365),
            Windows = new RecencyWindows(W("labs"), W("ecog"), W("bloodPressure"), W("liverAssessment"), W("tumourMeasurements"), W("nyha"), W("bclcObservation")),
            RenalSevereBelow = r.Decimal(r.Object(r.Prop(root, "$", "renal"), "$.renal"), "$.renal", "severeBelow", 1m, 200m),
            SystolicAtLeast = r.Decimal(bp, "$.bloodPressure", "systolicAtLeast", 80m, 300m),
            DiastolicAtLeast = r.Decimal(bp, "$.bloodPressure", "diastolicAtLeast", 40m, 200m),
            HypertensionReadings = r.Int(bp, "$.bloodPressure", "readings", 1, 10),
            MalignancyLookbackYears = r.Int(r.Object(r.Prop(root, "$", "otherMalignancy"), "$.otherMalignancy"), "$.otherMalignancy", "lookbackYears", 0, 100),
            CardiacRecentEventMonths = r.Int(r.Object(r.Prop(root, "$", "cardiac"), "$.cardiac"), "$.cardiac", "recentEventMonths", 1, 120),
            RegimenDrugs = r.StringArray(root, "$", "regimenDrugs"),
            ConflictWindow = TimeSpan.FromHours(r.Int(conflicts, "$.conflicts", "windowHours", 0, 24 * 31)),
            ConflictRelativeTolerance = r.Decimal(conflicts, "$.conflicts", "relativeTolerance", 0m, 1m),
        };
    }

    public static ValueSets ParseValueSets(string json, string file)
    {
        var r = new JsonFields(file);
        using var doc = r.Parse(json);
        var root = r.Object(doc.RootElement, "$");
        var version = r.String(root, "$", "version");
        var setsElement = r.Object(r.Prop(root, "$", "valueSets"), "$.valueSets");
        var sets = new Dictionary<string, ValueSet>(StringComparer.Ordinal);
        foreach (var p in setsElement.EnumerateObject())
        {
            sets[p.Name] = ParseSet(r, p.Value, $"$.valueSets['{p.Name}']", p.Name);
        }

        foreach (var id in ValueSets.RequiredIds)
        {
            if (!sets.ContainsKey(id))
            {
                throw new EligibilityDataException(file, $"$.valueSets['{id}']", "required value set is missing");
            }
        }

        // Sets whose entries carry a value the engine computes with: each value must be in range.
        (string Id, string[] Allowed)[] valued =
        [
            ("bclc-stage", ["0", "A", "B", "C", "D"]), ("ecog-grade", ["0", "1", "2", "3", "4", "5"]), ("nyha-class", ["1", "2", "3", "4"]),
            ("ascites-grade", ["0", "1", "2"]), ("condition-severity", ["mild", "moderate", "severe"]), ("hcc-basis", ["histology", "imaging"]),
        ];
        foreach (var (id, allowed) in valued)
        {
            var k = 0;
            foreach (var entry in sets[id].Codes)
            {
                if (entry.Value is null || !allowed.Contains(entry.Value))
                {
                    throw new EligibilityDataException(file, $"$.valueSets['{id}'].codes[{k}].value", $"must be one of {string.Join(", ", allowed)}");
                }

                k++;
            }
        }

        var classes = new List<DrugClass>();
        var classArray = r.Prop(root, "$", "drugClasses");
        if (classArray.ValueKind != JsonValueKind.Array)
        {
            throw new EligibilityDataException(file, "$.drugClasses", "must be an array");
        }

        var i = 0;
        foreach (var c in classArray.EnumerateArray())
        {
            var path = $"$.drugClasses[{i++}]";
            r.Object(c, path);
            var id = r.String(c, path, "id");
            var onMatch = r.String(c, path, "onMatch") switch
            {
                "fail" => DrugMatchAction.Fail,
                "to-be-confirmed" => DrugMatchAction.ToBeConfirmed,
                var other => throw new EligibilityDataException(file, path + ".onMatch", $"'{other}' is not 'fail' or 'to-be-confirmed'"),
            };
            var atc = c.TryGetProperty("atcPrefixes", out _) ? r.StringArray(c, path, "atcPrefixes") : [];
            var set = ParseSet(r, c, path, id);
            if (!set.Codes.Any() && atc.Count == 0 && !c.TryGetProperty("textPatterns", out _))
            {
                throw new EligibilityDataException(file, path, "a drug class needs codes, atcPrefixes or textPatterns");
            }

            classes.Add(new DrugClass(id, r.String(c, path, "name"), r.String(c, path, "regimenDrug"), onMatch, set, atc));
        }

        return new ValueSets(version, sets, classes);
    }

    private static ValueSet ParseSet(JsonFields r, JsonElement element, string path, string id)
    {
        r.Object(element, path);
        var codes = r.Codes(element, path, "codes");
        var prefixes = r.Codes(element, path, "codePrefixes");
        var text = element.TryGetProperty("textPatterns", out _) ? r.StringArray(element, path, "textPatterns") : [];
        var excludePrefixes = r.Codes(element, path, "excludeCodePrefixes");
        var excludeText = element.TryGetProperty("excludeTextPatterns", out _) ? r.StringArray(element, path, "excludeTextPatterns") : [];
        return new ValueSet(id, codes, prefixes, text, excludePrefixes, excludeText);
    }

    /// <summary>Reads JSON fields, turning every problem into an <see cref="EligibilityDataException"/> with the field's path.</summary>
    internal sealed class JsonFields(string file)
    {
        public JsonDocument Parse(string json)
        {
            try
            {
                return JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            }
            catch (JsonException e)
            {
                throw new EligibilityDataException(file, "$", $"not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})");
            }
        }

        public JsonElement Object(JsonElement e, string path) =>
            e.ValueKind == JsonValueKind.Object ? e : throw new EligibilityDataException(file, path, "must be an object");

        public JsonElement Prop(JsonElement obj, string path, string name) =>
            obj.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null
                ? v
                : throw new EligibilityDataException(file, $"{path}.{name}", "is required");

        public string String(JsonElement obj, string path, string name)
        {
            var v = Prop(obj, path, name);
            return v.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(v.GetString())
                ? v.GetString()!
                : throw new EligibilityDataException(file, $"{path}.{name}", "must be a non-empty string");
        }

        public decimal Decimal(JsonElement obj, string path, string name, decimal min, decimal max)
        {
            var v = Prop(obj, path, name);
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetDecimal(out var d))
            {
                throw new EligibilityDataException(file, $"{path}.{name}", "must be a number");
            }

            return d >= min && d <= max ? d : throw new EligibilityDataException(file, $"{path}.{name}", $"{d} is outside [{min}, {max}]");
        }

        public int Int(JsonElement obj, string path, string name, int min, int max)
        {
            var d = Decimal(obj, path, name, min, max);
            return d == Math.Truncate(d) ? (int)d : throw new EligibilityDataException(file, $"{path}.{name}", "must be a whole number");
        }

        public IReadOnlyList<string> StringArray(JsonElement obj, string path, string name)
        {
            var v = Prop(obj, path, name);
            if (v.ValueKind != JsonValueKind.Array)
            {
                throw new EligibilityDataException(file, $"{path}.{name}", "must be an array of strings");
            }

            var list = new List<string>();
            var i = 0;
            foreach (var item in v.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(item.GetString()))
                {
                    throw new EligibilityDataException(file, $"{path}.{name}[{i}]", "must be a non-empty string");
                }

                list.Add(item.GetString()!);
                i++;
            }

            return list;
        }

        public IReadOnlyList<CodeEntry> Codes(JsonElement obj, string path, string name)
        {
            if (!obj.TryGetProperty(name, out var v))
            {
                return [];
            }

            if (v.ValueKind != JsonValueKind.Array)
            {
                throw new EligibilityDataException(file, $"{path}.{name}", "must be an array");
            }

            var list = new List<CodeEntry>();
            var i = 0;
            foreach (var item in v.EnumerateArray())
            {
                var p = $"{path}.{name}[{i++}]";
                Object(item, p);
                var system = String(item, p, "system");
                if (!Uri.TryCreate(system, UriKind.Absolute, out _))
                {
                    throw new EligibilityDataException(file, p + ".system", $"'{system}' is not an absolute URI");
                }

                string? Optional(string field) => item.TryGetProperty(field, out var f) && f.ValueKind != JsonValueKind.Null
                    ? (f.ValueKind == JsonValueKind.String ? f.GetString() : throw new EligibilityDataException(file, $"{p}.{field}", "must be a string"))
                    : null;
                list.Add(new CodeEntry(system, String(item, p, "code"), Optional("display"), Optional("value")));
            }

            return list;
        }
    }
}
