using CdsRisk.Api.Fhir;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CdsRisk.Api.Auth;

/// <summary>The result of checking one token: the trusted issuer, or why the token was refused (for the log; never the token).</summary>
public sealed record TokenCheck(string? Issuer, string? Problem)
{
    public bool IsValid => Problem is null;

    public static TokenCheck Accepted(string issuer) => new(issuer, null);

    public static TokenCheck Refused(string problem) => new(null, problem);
}

/// <summary>
/// CDS Hooks 2.0 §Trusting CDS Clients: the JWT a client signs for each call. Asymmetric algorithms only (ES*, RS*, PS*;
/// never <c>none</c> or HMAC, §JWT signing algorithm); <c>kid</c> required; <c>iss</c> and <c>jku</c> allow-listed per client;
/// <c>aud</c> is the exact URL called; <c>exp</c>/<c>iat</c> within the clock skew and a lifetime of at most
/// <c>Auth:MaxTokenLifetimeSeconds</c>; <c>jti</c> used once (in the service's database, for every replica).
/// One instance per list of clients (CDS clients, audit clients, scoring clients).
/// </summary>
public sealed class CdsClientTokenValidator
{
    public static readonly IReadOnlyList<string> AcceptedAlgorithms =
    [
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
    ];

    /// <summary>Longest accepted <c>jti</c>: it is stored, so its size is bounded.</summary>
    public const int MaxJtiLength = 256;

    private sealed record TrustedClient(string Issuer, Uri? JwksUrl, IReadOnlyList<JsonWebKey>? ConfiguredKeys, string? PinnedJku, AllowedBaseUrls AllowedJku);

    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private readonly Dictionary<string, TrustedClient> _clients;
    private readonly TimeSpan _skew;
    private readonly TimeSpan _maxLifetime;
    private readonly JwksCache _jwks;
    private readonly JtiReplayCache _replay;
    private readonly TimeProvider _time;

    /// <summary>A validator for the CDS Clients of <c>Auth:Clients</c>.</summary>
    public CdsClientTokenValidator(IOptions<AuthOptions> options, JwksCache jwks, JtiReplayCache replay, TimeProvider time)
        : this(options.Value.Clients, options.Value, jwks, replay, time)
    {
    }

    public CdsClientTokenValidator(IEnumerable<TrustedClientOptions> clients, AuthOptions settings, JwksCache jwks, JtiReplayCache replay, TimeProvider time)
    {
        _jwks = jwks;
        _replay = replay;
        _time = time;
        _skew = TimeSpan.FromSeconds(settings.ClockSkewSeconds);
        _maxLifetime = TimeSpan.FromSeconds(settings.MaxTokenLifetimeSeconds);
        _clients = clients
            .Where(c => !string.IsNullOrEmpty(c.Issuer))
            .Select(c => new TrustedClient(
                c.Issuer!,
                string.IsNullOrEmpty(c.JwksUrl) ? null : new Uri(c.JwksUrl),
                c.LoadKeys(),
                string.IsNullOrEmpty(c.Jku) ? null : c.Jku,
                AllowedBaseUrls.Parse(c.AllowedJku)))
            .ToDictionary(c => c.Issuer, StringComparer.Ordinal);
    }

    /// <summary>Checks the request's <c>Authorization</c> header; <paramref name="audience"/> is the exact URL called (<c>Auth:PublicBaseUrl</c> plus the path).</summary>
    public async Task<TokenCheck> ValidateAsync(string? authorizationHeader, string audience, CancellationToken cancellationToken)
    {
        const string scheme = "Bearer ";
        if (string.IsNullOrEmpty(authorizationHeader) || !authorizationHeader.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return TokenCheck.Refused("no bearer token");
        }

        var token = authorizationHeader[scheme.Length..].Trim();
        JsonWebToken jwt;
        try
        {
            jwt = new JsonWebToken(token);
        }
        catch (ArgumentException)
        {
            return TokenCheck.Refused("not a JWT");
        }

        if (!AcceptedAlgorithms.Contains(jwt.Alg, StringComparer.Ordinal))
        {
            return TokenCheck.Refused($"alg '{Truncate(jwt.Alg)}' not accepted");
        }

        if (string.IsNullOrEmpty(jwt.Kid))
        {
            return TokenCheck.Refused("no kid");
        }

        if (string.IsNullOrEmpty(jwt.Issuer) || !_clients.TryGetValue(jwt.Issuer, out var client))
        {
            return TokenCheck.Refused("unknown iss");
        }

        var (key, keyProblem) = await FindKeyAsync(client, jwt, cancellationToken);
        if (key is null)
        {
            return TokenCheck.Refused(keyProblem!);
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
            return TokenCheck.Refused("invalid: " + (result.Exception?.GetType().Name ?? "unknown"));
        }

        if (string.IsNullOrEmpty(jwt.Id))
        {
            return TokenCheck.Refused("no jti");
        }

        if (jwt.Id.Length > MaxJtiLength)
        {
            return TokenCheck.Refused("jti too long");
        }

        var now = _time.GetUtcNow();
        if (jwt.IssuedAt == DateTime.MinValue || jwt.IssuedAt > now.UtcDateTime + _skew)
        {
            return TokenCheck.Refused("iat missing or in the future");
        }

        // A token meant for one call lives minutes: a long-lived one (a 10-year exp) would be a bearer password, and its jti would
        // have to be remembered for as long.
        var expires = new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero);
        if (jwt.ValidTo - jwt.IssuedAt > _maxLifetime)
        {
            return TokenCheck.Refused("lifetime (exp - iat) above Auth:MaxTokenLifetimeSeconds");
        }

        if (expires > now + _maxLifetime + _skew)
        {
            return TokenCheck.Refused("exp too far in the future");
        }

        if (!await _replay.TryUseAsync(client.Issuer, jwt.Id, expires + _skew, cancellationToken))
        {
            return TokenCheck.Refused("jti replayed");
        }

        return TokenCheck.Accepted(client.Issuer);
    }

    private async Task<(JsonWebKey? Key, string? Problem)> FindKeyAsync(TrustedClient client, JsonWebToken jwt, CancellationToken cancellationToken)
    {
        if (jwt.TryGetHeaderValue<string>("jku", out var jku) && !string.IsNullOrEmpty(jku))
        {
            // Keys pinned out of band for exactly this jku (e.g. the Sandbox's, for a service without internet): nothing is fetched.
            if (client.PinnedJku is not null && string.Equals(jku, client.PinnedJku, StringComparison.Ordinal))
            {
                var pinned = JwksCache.Find(client.ConfiguredKeys!, jwt.Kid);
                return pinned is null ? (null, "kid not in the key set pinned for this jku") : (pinned, null);
            }

            if (!Uri.TryCreate(jku, UriKind.Absolute, out var jkuUrl) || !client.AllowedJku.Admits(jkuUrl))
            {
                return (null, "jku not allowed");
            }

            var fromJku = await _jwks.FindKeyAsync(client.Issuer, jkuUrl, jwt.Kid, cancellationToken);
            return fromJku is null ? (null, "kid not in jku key set") : (fromJku, null);
        }

        if (client.ConfiguredKeys is not null)
        {
            var configured = JwksCache.Find(client.ConfiguredKeys, jwt.Kid);
            return configured is null ? (null, "kid not in configured key set") : (configured, null);
        }

        if (client.JwksUrl is not null)
        {
            var fetched = await _jwks.FindKeyAsync(client.Issuer, client.JwksUrl, jwt.Kid, cancellationToken);
            return fetched is null ? (null, "kid not in key set") : (fetched, null);
        }

        return (null, "no jku header and no configured key set");
    }

    private static string Truncate(string? value) => value is null ? "" : value.Length <= 16 ? value : value[..16];
}
