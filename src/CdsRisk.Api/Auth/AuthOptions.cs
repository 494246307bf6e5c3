using CdsRisk.Api.Fhir;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace CdsRisk.Api.Auth;

public enum AuthMode
{
    /// <summary>Every call needs a JWT from a trusted client (CDS Hooks 2.0 §Trusting CDS Clients).</summary>
    Required,

    /// <summary>Local development only (refused in Production): every caller is trusted; a warning is logged at every start.</summary>
    Disabled,
}

/// <summary>Configuration section <c>Auth</c>.</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    public AuthMode Mode { get; set; } = AuthMode.Required;

    /// <summary>
    /// The URL clients call this service at (e.g. <c>https://cds.example.org</c>, behind a proxy its public address). Required when
    /// <see cref="Mode"/> is Required: a token's <c>aud</c> must be this base plus the path called, never anything built from the
    /// request's <c>Host</c> header (which the caller chooses).
    /// </summary>
    public string? PublicBaseUrl { get; set; }

    public int ClockSkewSeconds { get; set; } = 60;

    /// <summary>Longest accepted token lifetime (<c>exp</c> − <c>iat</c>); CDS clients sign one short-lived token per call.</summary>
    public int MaxTokenLifetimeSeconds { get; set; } = 600;

    /// <summary>Least time between JWKS fetches for one client (after a burst of two), whatever URL its tokens name.</summary>
    public int JwksRefreshSeconds { get; set; } = 30;

    /// <summary>How long fetched JWKS are kept before they are fetched again.</summary>
    public int JwksCacheSeconds { get; set; } = 3600;

    /// <summary>Most key sets kept at once (the oldest fetched is dropped first).</summary>
    public int JwksCacheMaxEntries { get; set; } = 64;

    /// <summary>Whole budget for one JWKS download, retries included.</summary>
    public double JwksTimeoutSeconds { get; set; } = 10;

    /// <summary>The CDS Clients (EHRs) that may call the hooks.</summary>
    public List<TrustedClientOptions> Clients { get; set; } = [];
}

/// <summary>
/// One trusted client signing JWTs: its issuer and where its keys come from: exactly one of <see cref="JwksUrl"/>, <see cref="Jwks"/>,
/// <see cref="JwksFile"/> or <see cref="AllowedJku"/>; with Jwks or JwksFile, <see cref="Jku"/> pins those keys to the <c>jku</c> the client names.
/// </summary>
public class TrustedClientOptions
{
    public string? Issuer { get; set; }

    /// <summary>URL of the client's JWKS, configured out of band.</summary>
    public string? JwksUrl { get; set; }

    /// <summary>The client's JWKS as inline JSON.</summary>
    public string? Jwks { get; set; }

    /// <summary>A file holding the client's JWKS (read at start).</summary>
    public string? JwksFile { get; set; }

    /// <summary>
    /// The exact <c>jku</c> URL the client puts in its tokens, whose keys are given out of band by <see cref="Jwks"/> or
    /// <see cref="JwksFile"/>: a token naming it is checked against those keys and nothing is fetched (a service that may not reach the internet).
    /// </summary>
    public string? Jku { get; set; }

    /// <summary>Base-URL prefixes a token's <c>jku</c> header may point at (the keys are fetched from there).</summary>
    public List<string> AllowedJku { get; set; } = [];

    /// <summary>The configured key set (inline or from the file), or null when keys are fetched.</summary>
    public IReadOnlyList<JsonWebKey>? LoadKeys()
    {
        var json = !string.IsNullOrEmpty(Jwks) ? Jwks : !string.IsNullOrEmpty(JwksFile) ? File.ReadAllText(JwksFile) : null;
        return json is null ? null : [.. new JsonWebKeySet(json).Keys];
    }

    /// <summary>Adds a message naming the key for every rule a client of <paramref name="section"/> breaks (issuers unique).</summary>
    internal static void ValidateAll(IReadOnlyList<TrustedClientOptions> clients, string section, List<string> failures)
    {
        var issuers = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < clients.Count; i++)
        {
            clients[i].Validate($"{section}:{i}", failures);
            if (!string.IsNullOrEmpty(clients[i].Issuer) && !issuers.Add(clients[i].Issuer!))
            {
                failures.Add($"{section}:{i}:Issuer repeats an earlier client's issuer; give each issuer one entry.");
            }
        }
    }

    /// <summary>Adds a message naming <paramref name="key"/> for every rule this client breaks.</summary>
    internal void Validate(string key, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(Issuer))
        {
            failures.Add($"{key}:Issuer is required.");
        }

        var sources = (string.IsNullOrEmpty(JwksUrl) ? 0 : 1) + (string.IsNullOrEmpty(Jwks) ? 0 : 1) + (string.IsNullOrEmpty(JwksFile) ? 0 : 1)
            + (AllowedJku.Count > 0 ? 1 : 0);
        if (sources != 1)
        {
            failures.Add($"{key} needs exactly one of JwksUrl, Jwks, JwksFile or AllowedJku.");
        }

        if (!string.IsNullOrEmpty(JwksUrl) && !AllowedBaseUrl.TryCreate(JwksUrl, out _))
        {
            failures.Add($"{key}:JwksUrl must be an absolute http(s) URL.");
        }

        if (!string.IsNullOrEmpty(Jku))
        {
            if (string.IsNullOrEmpty(Jwks) && string.IsNullOrEmpty(JwksFile))
            {
                failures.Add($"{key}:Jku pins keys given out of band: set {key}:Jwks or {key}:JwksFile with it.");
            }

            if (!AllowedBaseUrl.TryCreate(Jku, out _))
            {
                failures.Add($"{key}:Jku must be an absolute http(s) URL.");
            }
        }

        if (!string.IsNullOrEmpty(JwksFile) && !File.Exists(JwksFile))
        {
            failures.Add($"{key}:JwksFile: no file at '{JwksFile}'.");
        }
        else if (!string.IsNullOrEmpty(Jwks) || !string.IsNullOrEmpty(JwksFile))
        {
            try
            {
                if (LoadKeys() is not { Count: > 0 })
                {
                    failures.Add($"{key}:{(string.IsNullOrEmpty(Jwks) ? "JwksFile" : "Jwks")} holds no key.");
                }
            }
            catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException)
            {
                failures.Add($"{key}:{(string.IsNullOrEmpty(Jwks) ? "JwksFile" : "Jwks")} is not a JSON Web Key Set.");
            }
        }

        for (var j = 0; j < AllowedJku.Count; j++)
        {
            if (!AllowedBaseUrl.TryCreate(AllowedJku[j], out _))
            {
                failures.Add($"{key}:AllowedJku:{j} must be an absolute http(s) URL prefix.");
            }
        }
    }
}

internal sealed class AuthOptionsValidator(IHostEnvironment? environment = null) : IValidateOptions<AuthOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        var failures = new List<string>();
        if (options.Mode == AuthMode.Disabled && environment?.IsProduction() == true)
        {
            failures.Add("Auth:Mode=Disabled is refused in Production (ASPNETCORE_ENVIRONMENT=Production): it trusts every caller. Configure Auth:Clients instead.");
        }

        if (!string.IsNullOrEmpty(options.PublicBaseUrl) && !AllowedBaseUrl.TryCreate(options.PublicBaseUrl, out _))
        {
            failures.Add("Auth:PublicBaseUrl must be an absolute http(s) URL without query (e.g. https://cds.example.org).");
        }
        else if (options.Mode == AuthMode.Required && string.IsNullOrEmpty(options.PublicBaseUrl))
        {
            failures.Add("Auth:PublicBaseUrl is required when Auth:Mode is Required: every token's aud must be this URL plus the path called "
                + "(e.g. https://cds.example.org), and is never taken from the request's Host header.");
        }

        if (options.ClockSkewSeconds is < 0 or > 600)
        {
            failures.Add("Auth:ClockSkewSeconds must be between 0 and 600.");
        }

        if (options.MaxTokenLifetimeSeconds is < 10 or > 86_400)
        {
            failures.Add("Auth:MaxTokenLifetimeSeconds must be between 10 and 86400.");
        }

        if (options.JwksRefreshSeconds is < 1 or > 86_400)
        {
            failures.Add("Auth:JwksRefreshSeconds must be between 1 and 86400.");
        }

        if (options.JwksCacheMaxEntries is < 1 or > 10_000)
        {
            failures.Add("Auth:JwksCacheMaxEntries must be between 1 and 10000.");
        }

        if (options.JwksTimeoutSeconds is < 0.5 or > 120)
        {
            failures.Add("Auth:JwksTimeoutSeconds must be between 0.5 and 120.");
        }

        if (options.Mode == AuthMode.Required && options.Clients.Count == 0)
        {
            failures.Add("Auth:Clients must list at least one trusted client when Auth:Mode is Required (set Auth:Mode=Disabled only for local development).");
        }

        TrustedClientOptions.ValidateAll(options.Clients, "Auth:Clients", failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
