using System.Text.Json;
using System.Text.Json.Serialization;

namespace CdsRisk.Core.Scoring;

/// <summary>
/// The machine-readable model card (model-card.json) that sits beside a PRE model's .onnx file.
/// It is the source of truth for the model's input contract (docs/contracts.md §2).
/// </summary>
public sealed record ModelCard
{
    public required string Id { get; init; }
    public required string Version { get; init; }
    public required string Onnx { get; init; }
    public required string Sha256 { get; init; }
    public required IReadOnlyList<ModelTensorSpec> Inputs { get; init; }
    public required ModelTensorSpec Output { get; init; }
    public required ModelCardImage Image { get; init; }
    public required ModelCardClinical Clinical { get; init; }
    public double Threshold { get; init; } = 0.5;
    public bool NotForClinicalUse { get; init; }
    public string? TrainingData { get; init; }
    public string? Name { get; init; }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        PropertyNameCaseInsensitive = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
    };

    /// <summary>Reads and checks a card; throws <see cref="InvalidModelCardException"/> naming the problem.</summary>
    public static ModelCard Load(string path)
    {
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidModelCardException($"cannot read model card '{path}': {e.Message}", e);
        }
        return Parse(json, path);
    }

    public static ModelCard Parse(string json, string source = "model card")
    {
        ModelCard? card;
        try
        {
            card = JsonSerializer.Deserialize<ModelCard>(json, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidModelCardException($"{source} is not a valid model card: {e.Message}", e);
        }
        if (card is null)
        {
            throw new InvalidModelCardException($"{source} is empty");
        }
        card.Check(source);
        return card;
    }

    private void Check(string source)
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Id)) problems.Add("id is empty");
        if (string.IsNullOrWhiteSpace(Onnx) || Onnx.Contains('/') || Onnx.Contains('\\') || Onnx.Contains("..", StringComparison.Ordinal))
            problems.Add("onnx must be a plain file name beside the card");
        if (Sha256 is null || Sha256.Length != 64 || !Sha256.All(Uri.IsHexDigit)) problems.Add("sha256 must be 64 hex digits");
        if (Inputs is null || Inputs.Count == 0) problems.Add("inputs are missing");
        if (Output is null) problems.Add("output is missing");
        if (Clinical?.Features is null) problems.Add("clinical.features are missing");
        else
        {
            var names = Clinical.Features.Select(f => f.Name).ToList();
            if (!names.SequenceEqual(ClinicalFeatureNames.All))
                problems.Add($"clinical.features must be [{string.Join(", ", ClinicalFeatureNames.All)}] in that order, got [{string.Join(", ", names)}]");
            foreach (var f in Clinical.Features)
            {
                if (!(f.Std > 0) || !double.IsFinite(f.Std)) problems.Add($"clinical feature {f.Name}: std must be > 0");
                if (!double.IsFinite(f.Mean)) problems.Add($"clinical feature {f.Name}: mean must be finite");
                if (f.Transform is not ("identity" or "log10(max(x, 1))"))
                    problems.Add($"clinical feature {f.Name}: unknown transform '{f.Transform}'");
            }
            if (Clinical.Imputation != "training-mean") problems.Add($"clinical.imputation '{Clinical.Imputation}' is not supported (only training-mean)");
        }
        if (Image?.Grid is not { Count: 3 } g || g.Any(n => n <= 0)) problems.Add("image.grid must hold three positive sizes");
        if (Image?.Phases is not { Count: 4 }) problems.Add("image.phases must list four phases");
        if (!(Threshold is > 0 and < 1)) problems.Add("threshold must lie in (0, 1)");
        if (problems.Count > 0)
        {
            throw new InvalidModelCardException($"{source}: {string.Join("; ", problems)}");
        }
    }

    internal ModelTensorSpec Input(string name) =>
        Inputs.FirstOrDefault(i => i.Name == name) ?? throw new InvalidModelCardException($"model card has no input named '{name}'");
}

/// <summary>A tensor's name, shape (a string such as "N" for a dynamic axis, otherwise a size) and element type.</summary>
public sealed record ModelTensorSpec
{
    public required string Name { get; init; }
    public required IReadOnlyList<JsonElement> Shape { get; init; }
    public required string Dtype { get; init; }

    /// <summary>The shape with -1 for dynamic (named) axes, as ONNX Runtime reports them.</summary>
    public long[] Dimensions() => Shape.Select(d => d.ValueKind == JsonValueKind.Number ? d.GetInt64() : -1L).ToArray();

    public string ShapeText() => "[" + string.Join(", ", Shape.Select(d => d.ValueKind == JsonValueKind.Number ? d.GetInt64().ToString() : d.GetString())) + "]";
}

public sealed record ModelCardImage
{
    public required IReadOnlyList<int> Grid { get; init; }
    public required IReadOnlyList<string> Phases { get; init; }
    public string? Resampling { get; init; }
    public string? Normalisation { get; init; }
}

public sealed record ModelCardClinical
{
    public required IReadOnlyList<ClinicalFeatureSpec> Features { get; init; }
    public required string Imputation { get; init; }
}

/// <summary>One clinical input: canonical unit, transform (identity or log10(max(x, 1))), training mean and std after the transform.</summary>
public sealed record ClinicalFeatureSpec
{
    public required string Name { get; init; }
    public string? Unit { get; init; }
    public required string Transform { get; init; }
    public required double Mean { get; init; }
    public required double Std { get; init; }

    public double Apply(double value) => Transform == "log10(max(x, 1))" ? Math.Log10(Math.Max(value, 1.0)) : value;
}
