using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using CdsRisk.Core.Scoring;

namespace CdsRisk.Core.WriteBack;

/// <summary>A stable fingerprint of the clinical features a score was computed from, part of the RiskAssessment identifier.</summary>
public static class ClinicalFeatureHash
{
    /// <summary>SHA-256 (lower-case hex) over "name=value" lines in the model's feature order; a missing value hashes as "name=".</summary>
    public static string Compute(ClinicalFeatureValues values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var sb = new StringBuilder();
        foreach (var name in ClinicalFeatureNames.All)
        {
            sb.Append(name).Append('=');
            if (values[name] is { } v)
            {
                sb.Append(v.ToString("R", CultureInfo.InvariantCulture));
            }

            sb.Append('\n');
        }

        return Sha256Hex(sb.ToString());
    }

    internal static string Sha256Hex(string text) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
