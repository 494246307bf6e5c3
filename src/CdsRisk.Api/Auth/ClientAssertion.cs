using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CdsRisk.Api.Auth;

/// <summary>
/// A signed client assertion for <c>private_key_jwt</c> client authentication (RFC 7523 §2.2, SMART App Launch 2.0
/// "Confidential asymmetric" and SMART Backend Services): iss = sub = client_id, aud = the token endpoint, a fresh jti, exp ≤ 5 min.
/// Used by the write-back's backend clients and by the SMART app.
/// </summary>
public static class ClientAssertion
{
    /// <summary>The <c>client_assertion_type</c> form value (RFC 7523 §2.2).</summary>
    public const string Type = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    /// <summary>
    /// Signs an assertion with the PEM private key (RSA for RS384, EC for ES384). The key lives for this one signature and is
    /// disposed after it; the signature provider is not cached (a cached provider would keep the disposed key, and a new key per
    /// request would fill the cache).
    /// </summary>
    public static string Create(string clientId, string audience, string privateKeyPem, string algorithm, string? keyId, DateTime utcNow)
    {
        using AsymmetricAlgorithm signer = algorithm.StartsWith("ES", StringComparison.Ordinal) ? ECDsa.Create() : RSA.Create();
        signer.ImportFromPem(privateKeyPem);
        var (key, alg) = signer switch
        {
            ECDsa ec => ((SecurityKey)new ECDsaSecurityKey(ec) { KeyId = keyId }, SecurityAlgorithms.EcdsaSha384),
            RSA rsa => (new RsaSecurityKey(rsa) { KeyId = keyId }, SecurityAlgorithms.RsaSha384),
            _ => throw new InvalidOperationException("unsupported key type"),
        };

        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = clientId,
            Audience = audience,
            Claims = new Dictionary<string, object> { ["sub"] = clientId, ["jti"] = Guid.NewGuid().ToString("N") },
            IssuedAt = utcNow,
            NotBefore = utcNow,
            Expires = utcNow.AddMinutes(4),
            SigningCredentials = new SigningCredentials(key, alg) { CryptoProviderFactory = new CryptoProviderFactory { CacheSignatureProviders = false } },
        });
    }
}
