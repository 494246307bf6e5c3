using CdsRisk.Api.Fhir;
using Microsoft.IdentityModel.Tokens;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Auth;

public enum AuthMode
{
    /// <summary>Every call needs a JWT from a trusted client (CDS Hooks 2.0 §Trusting CDS Clients).</summary>
    Required,

    /// <summary>Local development only: no authentication; a warning is logged at every start.</summary>
    Disabled,
}

/// <summary>Configuration section <c>Auth</c>.</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    public AuthMode Mode { get; set; } = AuthMode.Required;

    /// <summary>Public base URL of this service (e.g. behind a proxy), used to rebuild the exact URL a client called for <c>aud</c>. Empty: from the request.</summary>
    public string? PublicBaseUrl { get; set; }

    public int ClockSkewSeconds { get; set; } = 60;

    /// <summary>Least time between two JWKS refreshes of one source triggered by an unknown <c>kid</c>.</summary>
    public int JwksRefreshSeconds { get; set; } = 30;

    /// <summary>How long fetched JWKS are kept before they are fetched again.</summary>
    public int JwksCacheSeconds { get; set; } = 3600;

    /// <summary>Whole budget for one JWKS download, retries included.</summary>
    public double JwksTimeoutSeconds { get; set; } = 10;

    public List<TrustedClientOptions> Clients { get; set; } = [];
}

/// <summary>One trusted CDS Client: its issuer and where its keys come from (exactly one of JwksUrl, Jwks or AllowedJku).</summary>
public sealed class TrustedClientOptions
{
    public string Issuer { get; set; } = string.Empty;

    /// <summary>URL of the client's JWKS, configured out of band.</summary>
    public string? JwksUrl { get; set; }

    /// <summary>The client's JWKS as inline JSON.</summary>
    public string? Jwks { get; set; }

    /// <summary>Base-URL prefixes a token's <c>jku</c> header may point at.</summary>
    public List<string> AllowedJku { get; set; } = [];
}

internal sealed class AuthOptionsValidator : IValidateOptions<AuthOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        var failures = new List<string>();
        if (!string.IsNullOrEmpty(options.PublicBaseUrl) && !AllowedBaseUrl.TryCreate(options.PublicBaseUrl, out _))
        {
            failures.Add("Auth:PublicBaseUrl must be an absolute http(s) URL.");
        }

        if (options.ClockSkewSeconds is < 0 or > 600)
        {
            failures.Add("Auth:ClockSkewSeconds must be between 0 and 600.");
        }

        if (options.JwksTimeoutSeconds is < 0.5 or > 120)
        {
            failures.Add("Auth:JwksTimeoutSeconds must be between 0.5 and 120.");
        }

        if (options.Mode == AuthMode.Required && options.Clients.Count == 0)
        {
            failures.Add("Auth:Clients must list at least one trusted client when Auth:Mode is Required (set Auth:Mode=Disabled only for local development).");
        }

        for (var i = 0; i < options.Clients.Count; i++)
        {
            var client = options.Clients[i];
            var key = $"Auth:Clients:{i}";
            if (string.IsNullOrWhiteSpace(client.Issuer))
            {
                failures.Add($"{key}:Issuer is required.");
            }

            var sources = (string.IsNullOrEmpty(client.JwksUrl) ? 0 : 1) + (string.IsNullOrEmpty(client.Jwks) ? 0 : 1) + (client.AllowedJku.Count > 0 ? 1 : 0);
            if (sources != 1)
            {
                failures.Add($"{key} needs exactly one of JwksUrl, Jwks or AllowedJku.");
            }

            if (!string.IsNullOrEmpty(client.JwksUrl) && !Uri.TryCreate(client.JwksUrl, UriKind.Absolute, out _))
            {
                failures.Add($"{key}:JwksUrl must be an absolute URL.");
            }

            if (!string.IsNullOrEmpty(client.Jwks))
            {
                try
                {
                    _ = new JsonWebKeySet(client.Jwks);
                }
                catch (ArgumentException)
                {
                    failures.Add($"{key}:Jwks is not a JSON Web Key Set.");
                }
            }

            for (var j = 0; j < client.AllowedJku.Count; j++)
            {
                if (!AllowedBaseUrl.TryCreate(client.AllowedJku[j], out _))
                {
                    failures.Add($"{key}:AllowedJku:{j} must be an absolute http(s) URL prefix.");
                }
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
