using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using CdsRisk.Api.Audit;
using CdsRisk.Api.Diagnostics;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Auth;

/// <summary>The kinds of client, each its own list in configuration, authentication scheme and authorization policy.</summary>
public enum ClientKind
{
    /// <summary>EHRs calling the hooks (<c>Auth:Clients</c>).</summary>
    Cds,

    /// <summary>Auditors reading the audit API (<c>Audit:Clients</c>).</summary>
    Audit,

    /// <summary>Systems asking for pre-computation, each bound to one FHIR server (<c>Scoring:Clients</c>).</summary>
    Scoring,
}

/// <summary>Authentication scheme names, one per <see cref="ClientKind"/>.</summary>
public static class ClientSchemes
{
    public const string Cds = "CdsClient";
    public const string Audit = "AuditClient";
    public const string Scoring = "ScoringClient";

    public static string Of(ClientKind kind) => kind switch
    {
        ClientKind.Cds => Cds,
        ClientKind.Audit => Audit,
        _ => Scoring,
    };
}

/// <summary>Authorization policy names: each route group requires one; every other endpoint falls under the fallback (a CDS client).</summary>
public static class ClientPolicies
{
    public const string Cds = ClientSchemes.Cds;
    public const string Audit = ClientSchemes.Audit;
    public const string Scoring = ClientSchemes.Scoring;
}

/// <summary>Claims of an authenticated client.</summary>
public static class ClientClaims
{
    /// <summary><c>cds</c>, <c>audit</c> or <c>scoring</c>.</summary>
    public const string Kind = "cdsrisk:client-kind";

    /// <summary>The client: its issuer, or a scoring client's name.</summary>
    public const string Client = "cdsrisk:client";

    /// <summary>The <see cref="Client"/> of everyone when <c>Auth:Mode=Disabled</c>.</summary>
    public const string DevelopmentClient = "development (Auth:Mode=Disabled)";

    public static string KindValue(ClientKind kind) => kind.ToString().ToLowerInvariant();

    /// <summary>True for the principal of <c>Auth:Mode=Disabled</c>, which no configured client stands behind.</summary>
    public static bool IsDevelopment(ClaimsPrincipal user) => user.FindFirst(Client)?.Value == DevelopmentClient;
}

public sealed class ClientAuthenticationOptions : AuthenticationSchemeOptions
{
    public ClientKind Kind { get; set; }
}

/// <summary>The token validators of the three client lists, and the scoring clients' bindings.</summary>
public sealed class ClientTokenValidators
{
    private readonly CdsClientTokenValidator _cds;
    private readonly CdsClientTokenValidator _audit;
    private readonly CdsClientTokenValidator _scoring;
    private readonly IReadOnlyList<ScoringClientOptions> _scoringClients;
    private readonly (byte[] Hash, ScoringClientOptions Client)[] _apiKeys;

    public ClientTokenValidators(IOptions<AuthOptions> auth, IOptions<AuditOptions> audit, IOptions<ScoringClientsOptions> scoring,
        JwksCache jwks, JtiReplayCache replay, TimeProvider time)
    {
        _cds = new CdsClientTokenValidator(auth.Value.Clients, auth.Value, jwks, replay, time);
        _audit = new CdsClientTokenValidator(audit.Value.Clients, auth.Value, jwks, replay, time);
        _scoringClients = scoring.Value.Clients;
        _scoring = new CdsClientTokenValidator(_scoringClients.Where(c => !string.IsNullOrEmpty(c.Issuer)), auth.Value, jwks, replay, time);
        _apiKeys = [.. _scoringClients.Where(c => c.ApiKeyHash is not null).Select(c => (c.ApiKeyHash!, c))];
    }

    public CdsClientTokenValidator For(ClientKind kind) => kind switch
    {
        ClientKind.Cds => _cds,
        ClientKind.Audit => _audit,
        _ => _scoring,
    };

    public ScoringClientOptions? ScoringClientByIssuer(string issuer) => _scoringClients.FirstOrDefault(c => c.Issuer == issuer);

    public ScoringClientOptions? ScoringClientByName(string name) => _scoringClients.FirstOrDefault(c => c.Name == name);

    /// <summary>The scoring client whose configured SHA-256 is that of <paramref name="apiKey"/>; every entry is compared, in constant time.</summary>
    public ScoringClientOptions? ScoringClientByApiKey(string apiKey)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(apiKey), hash);
        ScoringClientOptions? match = null;
        foreach (var (expected, client) in _apiKeys)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, expected))
            {
                match = client;
            }
        }

        return match;
    }
}

/// <summary>
/// One handler for every kind of client (a scheme each): a JWT per CDS Hooks 2.0 §Trusting CDS Clients through
/// <see cref="CdsClientTokenValidator"/>, or for scoring clients a static API key. A failure is a bare 401 with
/// <c>WWW-Authenticate: Bearer</c>; the log says why, never the token. With <c>Auth:Mode=Disabled</c> every caller is a development client.
/// </summary>
internal sealed class ClientAuthenticationHandler(
    IOptionsMonitor<ClientAuthenticationOptions> options,
    ILoggerFactory loggers,
    UrlEncoder encoder,
    ClientTokenValidators validators,
    IOptions<AuthOptions> auth)
    : AuthenticationHandler<ClientAuthenticationOptions>(options, loggers, encoder)
{
    private const string ApiKeyScheme = "ApiKey ";

    /// <summary>Longest API key looked at (a key is a random string of a few dozen characters).</summary>
    private const int MaxApiKeyLength = 512;

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var kind = Options.Kind;
        if (auth.Value.Mode == AuthMode.Disabled)
        {
            return Authenticated(kind, ClientClaims.DevelopmentClient, "Development");
        }

        var header = Request.Headers.Authorization.ToString();
        if (kind == ClientKind.Scoring && header.StartsWith(ApiKeyScheme, StringComparison.OrdinalIgnoreCase))
        {
            var key = header[ApiKeyScheme.Length..].Trim();
            var client = key.Length is > 0 and <= MaxApiKeyLength ? validators.ScoringClientByApiKey(key) : null;
            return client is null ? Refused("API key not recognised") : Authenticated(kind, client.Name!, "ApiKey");
        }

        var check = await validators.For(kind).ValidateAsync(header, CalledUrl(Context, auth.Value.PublicBaseUrl!), Context.RequestAborted);
        if (!check.IsValid)
        {
            return Refused(check.Problem!);
        }

        var name = kind == ClientKind.Scoring ? validators.ScoringClientByIssuer(check.Issuer!)!.Name! : check.Issuer!;
        return Authenticated(kind, name, "Bearer");
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        // A bare 401 (no body), as before; CORS headers were already added by the CORS middleware.
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        return Task.CompletedTask;
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        return Task.CompletedTask;
    }

    /// <summary>
    /// The URL the client called, which <c>aud</c> must equal: <c>Auth:PublicBaseUrl</c> plus the path as routed (query excluded).
    /// Never built from the <c>Host</c> header, which the caller chooses.
    /// </summary>
    public static string CalledUrl(HttpContext context, string publicBaseUrl) =>
        publicBaseUrl.TrimEnd('/') + (context.Request.PathBase + context.Request.Path).ToUriComponent();

    private AuthenticateResult Authenticated(ClientKind kind, string client, string method)
    {
        var identity = new ClaimsIdentity(
            [new Claim(ClientClaims.Kind, ClientClaims.KindValue(kind)), new Claim(ClientClaims.Client, client)],
            method, ClientClaims.Client, null);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name));
    }

    private AuthenticateResult Refused(string reason)
    {
        Logger.TokenRejected(Scheme.Name, Request.Path, reason);
        return AuthenticateResult.Fail(reason);
    }
}
