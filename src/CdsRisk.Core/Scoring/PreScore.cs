namespace CdsRisk.Core.Scoring;

/// <summary>
/// One PRE result: the probability of aggressive recurrence within 2 years, which model produced it,
/// and which clinical features were missing and imputed with the training mean.
/// The decision threshold belongs to the protocol settings; <see cref="ModelThreshold"/> is the card's value, for display.
/// </summary>
public sealed record PreScore(
    double Pre,
    string ModelId,
    string ModelVersion,
    string ModelSha256,
    double ModelThreshold,
    IReadOnlyList<string> ImputedFeatures);

/// <summary>The standardised clinical tensor in card order, and the names imputed.</summary>
public sealed record ClinicalTensor(float[] Values, IReadOnlyList<string> ImputedFeatures);
