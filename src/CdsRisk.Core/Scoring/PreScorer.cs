using System.Security.Cryptography;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace CdsRisk.Core.Scoring;

/// <summary>
/// The PRE model: one ONNX Runtime session, checked against its model card at construction
/// (SHA-256 of the file, tensor names, shapes and element types), shared by all requests.
/// <see cref="InferenceSession.Run(RunOptions, IReadOnlyCollection{string}, IReadOnlyCollection{OrtValue}, IReadOnlyCollection{string}, IReadOnlyCollection{OrtValue})"/>
/// is thread-safe, and each call works on its own buffers.
/// </summary>
public sealed class PreScorer : IDisposable
{
    public const string ImageInput = "image";
    public const string ClinicalInput = "clinical";
    public const string PreOutput = "pre";

    private static readonly string[] InputNames = [ImageInput, ClinicalInput];
    private static readonly string[] OutputNames = [PreOutput];

    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly long[] _imageShape;
    private readonly long[] _clinicalShape;

    public PreScorer(PreModelOptions options)
    {
        var directory = options.ResolveDirectory();
        Card = ModelCard.Load(Path.Combine(directory, PreModelOptions.CardFileName));
        ModelPath = Path.Combine(directory, Card.Onnx);
        if (!File.Exists(ModelPath))
        {
            throw new ModelCardMismatchException(Card.Id, [$"the card names '{Card.Onnx}', which is not in '{directory}'"]);
        }
        var mismatches = new List<string>();
        var actualHash = Sha256Hex(ModelPath);
        if (!string.Equals(actualHash, Card.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            mismatches.Add($"sha256: card {Card.Sha256}, file {actualHash}");
            throw new ModelCardMismatchException(Card.Id, mismatches);
        }
        var grid = Card.Image.Grid;
        _imageShape = [1, Card.Image.Phases.Count, grid[0], grid[1], grid[2]];
        _clinicalShape = [1, ClinicalFeatureNames.All.Count];
        ImageLength = checked((int)(_imageShape[1] * grid[0] * grid[1] * grid[2]));

        PreScorerTelemetry.EnsureOff();
        using var sessionOptions = new SessionOptions
        {
            IntraOpNumThreads = Math.Max(1, options.IntraOpThreads),
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        try
        {
            _session = new InferenceSession(ModelPath, sessionOptions);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelCardMismatchException(Card.Id, [$"ONNX Runtime cannot load '{Card.Onnx}': {e.Message}"]);
        }
        try
        {
            CheckAgainstCard(mismatches);
        }
        catch
        {
            _session.Dispose();
            throw;
        }
    }

    public ModelCard Card { get; }
    public string ModelPath { get; }

    /// <summary>Number of floats in one patient's image tensor: phases × D × H × W.</summary>
    public int ImageLength { get; }

    /// <summary>
    /// Scores one patient. <paramref name="image"/> is the preprocessed [4, D, H, W] tensor, row-major,
    /// produced by the imaging side per the card (docs/contracts.md §2).
    /// </summary>
    public PreScore Score(float[] image, ClinicalFeatureValues clinical)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(clinical);
        if (image.Length != ImageLength)
        {
            throw new InvalidModelInputException($"image tensor has {image.Length} values; the model needs {ImageLength} ([{string.Join(", ", _imageShape.Skip(1))}])");
        }
        for (var i = 0; i < image.Length; i++)
        {
            if (!float.IsFinite(image[i]))
            {
                throw new InvalidModelInputException($"image tensor holds a non-finite value at index {i}");
            }
        }
        var tensor = BuildClinicalTensor(clinical);
        var pre = new float[1];
        using (var imageValue = OrtValue.CreateTensorValueFromMemory(image, _imageShape))
        using (var clinicalValue = OrtValue.CreateTensorValueFromMemory(tensor.Values, _clinicalShape))
        using (var preValue = OrtValue.CreateTensorValueFromMemory(pre, [1L, 1L]))
        {
            _session.Run(_runOptions, InputNames, [imageValue, clinicalValue], OutputNames, [preValue]);
        }
        var p = pre[0];
        if (!float.IsFinite(p) || p < 0f || p > 1f)
        {
            throw new ModelOutputException($"model '{Card.Id}' returned {p}, not a probability");
        }
        return new PreScore(p, Card.Id, Card.Version, Card.Sha256, Card.Threshold, tensor.ImputedFeatures);
    }

    /// <summary>Applies the card's transform and standardisation in card order; a missing feature is imputed with the training mean (0) and reported.</summary>
    public ClinicalTensor BuildClinicalTensor(ClinicalFeatureValues clinical) => BuildClinicalTensor(Card, clinical);

    public static ClinicalTensor BuildClinicalTensor(ModelCard card, ClinicalFeatureValues clinical)
    {
        var features = card.Clinical.Features;
        var values = new float[features.Count];
        List<string>? imputed = null;
        for (var i = 0; i < features.Count; i++)
        {
            var spec = features[i];
            var raw = clinical[spec.Name];
            if (raw is not { } v)
            {
                (imputed ??= []).Add(spec.Name);
                values[i] = 0f;
                continue;
            }
            if (!double.IsFinite(v))
            {
                throw new InvalidModelInputException($"clinical feature {spec.Name} is not a finite number");
            }
            values[i] = (float)((spec.Apply(v) - spec.Mean) / spec.Std);
        }
        return new ClinicalTensor(values, imputed ?? (IReadOnlyList<string>)[]);
    }

    public static string Sha256Hex(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private void CheckAgainstCard(List<string> mismatches)
    {
        // the service feeds exactly these tensors (docs/contracts.md §2)
        foreach (var name in InputNames)
        {
            if (Card.Inputs.All(i => i.Name != name)) mismatches.Add($"the card has no input '{name}'");
        }
        if (Card.Output.Name != PreOutput) mismatches.Add($"the card's output is '{Card.Output.Name}', the service reads '{PreOutput}'");
        var cardImage = Card.Inputs.FirstOrDefault(i => i.Name == ImageInput);
        if (cardImage is not null && !cardImage.Dimensions().Skip(1).SequenceEqual(_imageShape.Skip(1)))
            mismatches.Add($"input image: card shape {cardImage.ShapeText()} disagrees with its image grid and phases [N, {string.Join(", ", _imageShape.Skip(1))}]");
        var cardClinical = Card.Inputs.FirstOrDefault(i => i.Name == ClinicalInput);
        if (cardClinical is not null && !cardClinical.Dimensions().Skip(1).SequenceEqual(_clinicalShape.Skip(1)))
            mismatches.Add($"input clinical: card shape {cardClinical.ShapeText()} is not [N, {_clinicalShape[1]}]");

        Compare("input", Card.Inputs, _session.InputMetadata, mismatches);
        Compare("output", [Card.Output], _session.OutputMetadata, mismatches);
        if (mismatches.Count > 0)
        {
            throw new ModelCardMismatchException(Card.Id, mismatches);
        }
    }

    private static void Compare(string kind, IReadOnlyList<ModelTensorSpec> declared, IReadOnlyDictionary<string, NodeMetadata> actual, List<string> mismatches)
    {
        foreach (var spec in declared)
        {
            if (!actual.TryGetValue(spec.Name, out var meta))
            {
                mismatches.Add($"{kind} '{spec.Name}' is in the card but not in the model (model has {string.Join(", ", actual.Keys)})");
                continue;
            }
            var dtype = meta.IsTensor ? DtypeName(meta.ElementDataType) : "non-tensor";
            if (dtype != spec.Dtype) mismatches.Add($"{kind} '{spec.Name}': card dtype {spec.Dtype}, model {dtype}");
            var dims = meta.Dimensions.Select(d => (long)d).ToArray();
            var want = spec.Dimensions();
            if (!dims.SequenceEqual(want))
                mismatches.Add($"{kind} '{spec.Name}': card shape {spec.ShapeText()}, model [{string.Join(", ", dims.Select((d, i) => d < 0 ? (meta.SymbolicDimensions.ElementAtOrDefault(i) is { Length: > 0 } s ? s : "?") : d.ToString()))}]");
        }
        foreach (var name in actual.Keys.Where(k => declared.All(d => d.Name != k)))
        {
            mismatches.Add($"{kind} '{name}' is in the model but not in the card");
        }
    }

    private static string DtypeName(TensorElementType t) => t switch
    {
        TensorElementType.Float => "float32",
        TensorElementType.Double => "float64",
        TensorElementType.Float16 => "float16",
        TensorElementType.Int64 => "int64",
        TensorElementType.Int32 => "int32",
        _ => t.ToString().ToLowerInvariant(),
    };

    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
    }
}
