namespace CdsRisk.Core.Scoring;

/// <summary>The model card cannot be read or breaks the card format.</summary>
public sealed class InvalidModelCardException : Exception
{
    public InvalidModelCardException(string message) : base(message) { }
    public InvalidModelCardException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>The .onnx file does not match its model card (hash, tensor names, shapes or element types); the service must not start.</summary>
public sealed class ModelCardMismatchException : Exception
{
    public ModelCardMismatchException(string modelId, IReadOnlyList<string> mismatches)
        : base($"model '{modelId}' does not match its model card: {string.Join("; ", mismatches)}")
    {
        ModelId = modelId;
        Mismatches = mismatches;
    }

    public string ModelId { get; }
    public IReadOnlyList<string> Mismatches { get; }
}

/// <summary>A scoring request with an image tensor of the wrong size or with non-finite values.</summary>
public sealed class InvalidModelInputException(string message) : Exception(message);
/// <summary>The model returned something that is not a probability (NaN, infinite, or outside [0, 1]).</summary>
public sealed class ModelOutputException(string message) : Exception(message);
