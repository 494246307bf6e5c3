namespace CdsRisk.Core.Scoring;

/// <summary>Where the PRE model lives and how it runs. Configuration section <c>PreModel</c>.</summary>
public sealed class PreModelOptions
{
    public const string SectionName = "PreModel";

    /// <summary>Folder holding model-card.json and the .onnx it names. Default: the bundled reference model (models/pre-reference beside the app).</summary>
    public string? Directory { get; set; }

    /// <summary>Intra-op threads of the one ONNX Runtime session (1 keeps one request on one core; raise for latency).</summary>
    public int IntraOpThreads { get; set; } = 1;

    public const string CardFileName = "model-card.json";

    public static string BundledDirectory => Path.Combine(AppContext.BaseDirectory, "models", "pre-reference");

    public string ResolveDirectory() =>
        string.IsNullOrWhiteSpace(Directory) ? BundledDirectory : Path.GetFullPath(Directory, AppContext.BaseDirectory);
}
