using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace CdsRisk.Core.Scoring;

/// <summary>
/// Identifies one PRE computation: the same study, the same model file and the same clinical inputs give the same score,
/// so a second hook call for the patient can reuse it. The storage is the pipeline's; this only builds the key.
/// </summary>
public sealed record ScoreCacheKey(string StudyInstanceUid, string ModelSha256, string ClinicalFeatureHash)
{
    public static ScoreCacheKey Create(string studyInstanceUid, string modelSha256, ClinicalFeatureValues clinical)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(studyInstanceUid);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelSha256);
        return new ScoreCacheKey(studyInstanceUid, modelSha256.ToLowerInvariant(), HashClinicalFeatures(clinical));
    }

    /// <summary>
    /// SHA-256 (hex) of the model's nine features in <see cref="ClinicalFeatureNames.All"/> order, each as
    /// <c>name=value;</c> with the value in round-trip invariant form and empty when missing. Other entries are ignored:
    /// they do not change the score.
    /// </summary>
    public static string HashClinicalFeatures(ClinicalFeatureValues clinical)
    {
        ArgumentNullException.ThrowIfNull(clinical);
        var text = new StringBuilder();
        foreach (var name in ClinicalFeatureNames.All)
        {
            text.Append(name).Append('=');
            if (clinical[name] is { } v) text.Append(v.ToString("R", CultureInfo.InvariantCulture));
            text.Append(';');
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>One string form for stores that key by text.</summary>
    public override string ToString() => $"{StudyInstanceUid}|{ModelSha256}|{ClinicalFeatureHash}";
}
