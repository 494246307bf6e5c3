using CdsRisk.Api.Fhir;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CdsRisk.Api.Auth;

/// <summary>
/// CDS Hooks 2.0 §Trusting CDS Clients: the JWT a CDS Client signs for each call. Asymmetric algorithms only (ES*, RS*, PS*;
/// never <c>none</c> or HMAC, §JWT signing algorithm); <c>iss</c> and <c>jku</c> allow-listed per client; <c>aud</c> is the exact URL
/// called; <c>exp</c>/<c>iat</c> within the clock skew; <c>jti</c> used once.
/// </summary>
public sealed class CdsClientTokenValidator
{
    public static readonly IReadOnlyList<string> AcceptedAlgorithms =
    [
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
    ];

    private sealed record TrustedClient(string Issuer, Uri? JwksUrl, IReadOnlyList<JsonWebKey>? InlineKeys, AllowedBaseUrls AllowedJku);

    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private readonly Dictionary<string, TrustedClient> _clients;
    private readonly TimeSpan _skew;
    private readonly JwksCache _jwks;
    private readonly JtiReplayCache _replay;
    private readonly TimeProvider _time;

    public CdsClientTokenValidator(IOptions<AuthOptions> options, JwksCache jwks, JtiReplayCache replay, TimeProvider time)
    {
        _jwks = jwks;
        _replay = replay;
        _time = time;
        _skew = TimeSpan.FromSeconds(options.Value.ClockSkewSeconds);
        _clients = options.Value.Clients
            .Select(c => new TrustedClient(
                c.Issuer,
                string.IsNullOrEmpty(c.JwksUrl) ? null : new Uri(c.JwksUrl),
                string.IsNullOrEmpty(c.Jwks) ? null : [.. new JsonWebKeySet(c.Jwks).Keys],
                AllowedBaseUrls.Parse(c.AllowedJku)))
            .ToDictionary(c => c.Issuer, StringComparer.Ordinal);
    }

    /// <returns>Null when the token is good; otherwise why not (for the log: never contains the token).</returns>
    public async Task<string?> ValidateAsync(string? authorizationHeader, string audience, CancellationToken cancellationToken)
    {
        const string scheme = "Bearer ";
        if (string.IsNullOrEmpty(authorizationHeader) || !authorizationHeader.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return "no bearer token";
        }

        var token = authorizationHeader[scheme.Length..].Trim();
        JsonWebToken jwt;
        try
        {
            jwt = new JsonWebToken(token);
        }
        catch (ArgumentException)
        {
            return "not a JWT";
        }

        if (!AcceptedAlgorithms.Contains(jwt.Alg, StringComparer.Ordinal))
        {
            return $"alg '{Truncate(jwt.Alg)}' not accepted";
        }

        if (string.IsNullOrEmpty(jwt.Kid))
        {
            return "no kid";
        }

        if (string.IsNullOrEmpty(jwt.Issuer) || !_clients.TryGetValue(jwt.Issuer, out var client))
        {
            return "unknown iss";
        }

        var (key, keyProblem) = await FindKeyAsync(client, jwt, cancellationToken);
        if (key is null)
        {
            return keyProblem;
        }

        // The token as already read (the string overload would read it again).
        var result = await _handler.ValidateTokenAsync(jwt, new TokenValidationParameters
        {
            ValidIssuer = client.Issuer,
            ValidAudience = audience,
            IgnoreTrailingSlashWhenValidatingAudience = false,
            IssuerSigningKey = key,
            ValidAlgorithms = AcceptedAlgorithms,
            ClockSkew = _skew,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ValidateLifetime = true,
            ValidateIssuerSigningKey = false,
            TryAllIssuerSigningKeys = false,
        });
        if (!result.IsValid)
        {
            return "invalid: " + (result.Exception?.GetType().Name ?? "unknown");
        }

        if (string.IsNullOrEmpty(jwt.Id))
        {
            return "no jti";
        }

        var now = _time.GetUtcNow();
        if (jwt.IssuedAt == DateTime.MinValue || jwt.IssuedAt > now.UtcDateTime + _skew)
        {
            return "iat missing or in the future";
        }

        if (!_replay.TryUse(client.Issuer, jwt.Id, new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero) + _skew))
        {
            return "jti replayed";
        }

        return null;
    }

    private async Task<(JsonWebKey? Key, string? Problem)> FindKeyAsync(TrustedClient client, JsonWebToken jwt, CancellationToken cancellationToken)
    {
        if (jwt.TryGetHeaderValue<string>("jku", out var jku) && !string.IsNullOrEmpty(jku))
        {
            if (!Uri.TryCreate(jku, UriKind.Absolute, out var jkuUrl) || !client.AllowedJku.Admits(jkuUrl))
            {
                return (null, "jku not allowed");
            }

            var fromJku = await _jwks.FindKeyAsync(jkuUrl, jwt.Kid, cancellationToken);
            return fromJku is null ? (null, "kid not in jku key set") : (fromJku, null);
        }

        if (client.InlineKeys is not null)
        {
            var inline = JwksCache.Find(client.InlineKeys, jwt.Kid);
            return inline is null ? (null, "kid not in configured key set") : (inline, null);
        }

        if (client.JwksUrl is not null)
        {
            var fetched = await _jwks.FindKeyAsync(client.JwksUrl, jwt.Kid, cancellationToken);
            return fetched is null ? (null, "kid not in key set") : (fetched, null);
        }

        return (null, "no jku header and no configured key set");
    }

    private static string Truncate(string? value) => value is null ? "" : value.Length <= 16 ? value : value[..16];
}
