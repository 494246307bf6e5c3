using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace CdsRisk.Cli.Demo;

/// <summary>
/// Signs requests the way a CDS client must (CDS Hooks 2.0 §Trusting CDS Clients): a JWT with alg ES384, kid,
/// typ JWT; claims iss, aud = the exact URL called, exp = iat + 300, iat, jti. The private key lives only in memory.
/// </summary>
public sealed class CdsClientSigner : IDisposable
{
    private readonly ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP384);

    public CdsClientSigner(string issuer)
    {
        Issuer = issuer;
        var p = key.ExportParameters(includePrivateParameters: false);
        X = Base64Url(p.Q.X!);
        Y = Base64Url(p.Q.Y!);
        // RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order, no whitespace.
        KeyId = Base64Url(SHA256.HashData(Encoding.UTF8.GetBytes($$"""{"crv":"P-384","kty":"EC","x":"{{X}}","y":"{{Y}}"}""")));
    }

    public string Issuer { get; }

    public string KeyId { get; }

    private string X { get; }

    private string Y { get; }

    /// <summary>The public key as a JWKS document, for the service's client configuration.</summary>
    public string JwksJson => new JsonObject
    {
        ["keys"] = new JsonArray(new JsonObject
        {
            ["kty"] = "EC", ["crv"] = "P-384", ["x"] = X, ["y"] = Y, ["kid"] = KeyId, ["alg"] = "ES384", ["use"] = "sig",
        }),
    }.ToJsonString();

    /// <summary>A fresh token for one call to <paramref name="audience"/> (the full URL being called).</summary>
    public string CreateToken(Uri audience, DateTimeOffset? now = null)
    {
        var iat = (now ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds();
        var header = new JsonObject { ["alg"] = "ES384", ["typ"] = "JWT", ["kid"] = KeyId };
        var payload = new JsonObject
        {
            ["iss"] = Issuer,
            ["aud"] = audience.ToString(),
            ["iat"] = iat,
            ["exp"] = iat + 300,
            ["jti"] = Guid.NewGuid().ToString(),
        };
        var signingInput = Base64Url(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + Base64Url(Encoding.UTF8.GetBytes(payload.ToJsonString()));
        // JWS (RFC 7518 §3.4) wants r||s, which is .NET's default IEEE P1363 format.
        var signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA384, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return signingInput + "." + Base64Url(signature);
    }

    public void Dispose() => key.Dispose();

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
