using System.Security.Cryptography;
using System.Text;

namespace CdsRisk.Api.Diagnostics;

/// <summary>A short, stable pseudonym of a patient id for log lines (the id itself is PHI).</summary>
public static class PatientIdHash
{
    public static string Of(string? patientId) =>
        string.IsNullOrEmpty(patientId) ? "-" : Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("cdsrisk:" + patientId)))[..16];
}
