using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.App;

/// <summary>
/// The endpoints an EHR's <c>.well-known/smart-configuration</c> names (SMART App Launch 2.0 §2.1), with its OpenID Connect
/// <c>issuer</c> and <c>jwks_uri</c> (required there when the EHR offers <c>sso-openid-connect</c>).
/// </summary>
public sealed record SmartConfiguration(Uri AuthorizationEndpoint, Uri TokenEndpoint, Uri? IntrospectionEndpoint, string? OidcIssuer = null, Uri? JwksUri = null);

/// <summary>What the token endpoint answered (SMART App Launch 2.0 §"Obtain access token").</summary>
public sealed record SmartToken(string AccessToken, int ExpiresIn, string Scope, string? Patient, string? AppContext, string? IdToken = null)
{
    /// <summary>Whether the EHR granted <paramref name="scope"/> (space-separated list, RFC 6749 §3.3).</summary>
    public bool Granted(string scope) => Scope.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(scope, StringComparer.Ordinal);
}

/// <summary>An introspection answer (RFC 7662) with SMART's additions.</summary>
public sealed record SmartIntrospection(bool Active, string? ClientId, string? Patient, string? FhirUser, IReadOnlyList<string> Roles, long? Exp);

public sealed class SmartException(string message) : Exception(message);

/// <summary>HTTP calls of the app to an EHR: discovery, token, introspection, FHIR reads with the launch's token.</summary>
public sealed class SmartClient(IHttpClientFactory factory, IOptions<SmartAppOptions> options, TimeProvider time)
{
    public const string HttpClientName = "SmartApp";
    public const int MaxDocumentBytes = 256 * 1024;

    /// <summary>The configured EHR whose issuer is exactly <paramref name="iss"/> (a trailing slash aside), or null: the allow-list.</summary>
    public SmartEhrOptions? FindEhr(string? iss) =>
        iss is null ? null : options.Value.Ehrs.FirstOrDefault(e => string.Equals(e.Issuer.TrimEnd('/'), iss.TrimEnd('/'), StringComparison.Ordinal));

    public async Task<SmartConfiguration> DiscoverAsync(SmartEhrOptions ehr, CancellationToken cancellationToken)
    {
        var json = await GetJsonAsync(new Uri(ehr.Issuer.TrimEnd('/') + "/.well-known/smart-configuration"), null, cancellationToken);
        var authorize = AbsoluteUrl(json, "authorization_endpoint") ?? throw new SmartException("smart-configuration has no authorization_endpoint.");
        var token = AbsoluteUrl(json, "token_endpoint") ?? throw new SmartException("smart-configuration has no token_endpoint.");
        // SMART App Launch 2.0 §2.1: servers SHALL support S256 and list it; without it this app refuses the launch.
        if (json["code_challenge_methods_supported"] is not JsonArray methods || !methods.Any(m => m?.GetValueKind() == JsonValueKind.String && (string)m! == "S256"))
        {
            throw new SmartException("smart-configuration does not list S256 in code_challenge_methods_supported.");
        }

        return new SmartConfiguration(authorize, token, AbsoluteUrl(json, "introspection_endpoint"), Text(json, "issuer"), AbsoluteUrl(json, "jwks_uri"));
    }

    public async Task<SmartToken> ExchangeCodeAsync(SmartEhrOptions ehr, Uri tokenEndpoint, string code, string redirectUri, string verifier, CancellationToken cancellationToken)
    {
        var json = await PostFormAsync(ehr, tokenEndpoint, tokenEndpoint, new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["redirect_uri"] = redirectUri,
            ["code_verifier"] = verifier,
        }, cancellationToken);
        var access = Text(json, "access_token") ?? throw new SmartException("The token response has no access_token.");
        if (!string.Equals(Text(json, "token_type"), "bearer", StringComparison.OrdinalIgnoreCase)) throw new SmartException("The token response's token_type is not Bearer.");
        var expires = json["expires_in"] is JsonValue v && v.TryGetValue<int>(out var seconds) && seconds > 0 ? Math.Min(seconds, 24 * 3600) : 300;
        var appContext = json["appContext"] switch
        {
            JsonValue s when s.GetValueKind() == JsonValueKind.String => (string)s!,
            JsonObject o => o.ToJsonString(),
            _ => null,
        };
        return new SmartToken(access, expires, Text(json, "scope") ?? "", Text(json, "patient"), appContext, Text(json, "id_token"));
    }

    /// <summary>
    /// Checks the id_token the EHR sent with the openid scope (OpenID Connect Core §3.1.3.7): signed with a key of the EHR's JWKS
    /// (<c>jwks_uri</c>), <c>iss</c> = the EHR's OpenID issuer, <c>aud</c> = this app's client_id, not expired, <c>nonce</c> = the one this
    /// launch sent. Returns the <c>fhirUser</c> claim (SMART App Launch 2.0 §"Scopes for requesting identity data"); throws
    /// <see cref="SmartException"/> when any check fails.
    /// </summary>
    public async Task<string?> ValidateIdTokenAsync(SmartEhrOptions ehr, string? oidcIssuer, Uri? jwksUri, string? idToken, string? nonce, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(idToken)) throw new SmartException("The EHR granted openid but sent no id_token.");
        if (oidcIssuer is null || jwksUri is null) throw new SmartException("The EHR's smart-configuration names no issuer or jwks_uri, so its id_token cannot be checked.");
        var jwks = await GetJsonAsync(jwksUri, null, cancellationToken);
        Microsoft.IdentityModel.Tokens.JsonWebKeySet keys;
        try
        {
            keys = new Microsoft.IdentityModel.Tokens.JsonWebKeySet(jwks.ToJsonString());
        }
        catch (ArgumentException)
        {
            throw new SmartException("The EHR's JWKS could not be read.");
        }

        var result = await new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().ValidateTokenAsync(idToken, new Microsoft.IdentityModel.Tokens.TokenValidationParameters
        {
            ValidIssuer = oidcIssuer,
            ValidAudience = ehr.ClientId,
            IssuerSigningKeys = keys.GetSigningKeys(),
            ValidAlgorithms = ["RS256", "RS384", "ES256", "ES384"],
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ValidateLifetime = true,
            ClockSkew = TimeSpan.FromSeconds(60),
            LifetimeValidator = (notBefore, expires, _, p) =>
                expires is { } e && e > time.GetUtcNow().UtcDateTime - p.ClockSkew && (notBefore is not { } nb || nb <= time.GetUtcNow().UtcDateTime + p.ClockSkew),
        });
        if (!result.IsValid)
        {
            // The reason names the failed check (signature, issuer, audience, lifetime), never the token.
            throw new SmartException("The EHR's id_token was refused: " + (result.Exception?.GetType().Name ?? "invalid") + ".");
        }

        var claims = result.Claims;
        if (nonce is not null && !(claims.TryGetValue("nonce", out var n) && n is string sent
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(sent), Encoding.UTF8.GetBytes(nonce))))
        {
            throw new SmartException("The EHR's id_token was refused: its nonce is not the one this launch sent.");
        }

        return claims.TryGetValue("fhirUser", out var user) && user is string u && u.Length is > 0 and <= 512 ? u : null;
    }

    public async Task<SmartIntrospection> IntrospectAsync(SmartEhrOptions ehr, Uri introspectionEndpoint, Uri tokenEndpoint, string token, CancellationToken cancellationToken)
    {
        var json = await PostFormAsync(ehr, introspectionEndpoint, tokenEndpoint, new Dictionary<string, string> { ["token"] = token }, cancellationToken);
        var active = json["active"] is JsonValue a && a.GetValueKind() == JsonValueKind.True;
        var roles = json["roles"] is JsonArray r ? r.Where(x => x?.GetValueKind() == JsonValueKind.String).Select(x => (string)x!).ToList() : [];
        long? exp = json["exp"] is JsonValue e && e.TryGetValue<long>(out var when) ? when : null;
        return new SmartIntrospection(active, Text(json, "client_id"), Text(json, "patient"), Text(json, "fhirUser"), roles, exp);
    }

    /// <summary>Reads one FHIR resource or search from the EHR with the launch's token; null when the EHR refuses or fails.</summary>
    public async Task<JsonObject?> ReadFhirAsync(string issuer, string relative, string token, CancellationToken cancellationToken)
    {
        try
        {
            return await GetJsonAsync(new Uri(issuer.TrimEnd('/') + "/" + relative), token, cancellationToken);
        }
        catch (SmartException)
        {
            return null;
        }
    }

    private async Task<JsonObject> GetJsonAsync(Uri url, string? token, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.ParseAdd("application/json");
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await SendAsync(request, cancellationToken);
    }

    private async Task<JsonObject> PostFormAsync(SmartEhrOptions ehr, Uri url, Uri tokenEndpoint, Dictionary<string, string> form, CancellationToken cancellationToken)
    {
        string? basic = null;
        if (ehr.UsesPrivateKey)
        {
            // private_key_jwt (SMART App Launch 2.0 §"Confidential asymmetric", RFC 7523 §2.2): aud is the token endpoint, also when
            // the assertion authenticates an introspection call; a fresh jti each time.
            form["client_id"] = ehr.ClientId;
            form["client_assertion_type"] = Auth.ClientAssertion.Type;
            try
            {
                var pem = ehr.PrivateKeyPem is { Length: > 0 } inline ? inline : await File.ReadAllTextAsync(ehr.PrivateKeyFile!, cancellationToken);
                form["client_assertion"] = Auth.ClientAssertion.Create(ehr.ClientId, tokenEndpoint.AbsoluteUri, pem, ehr.Algorithm, ehr.KeyId, time.GetUtcNow().UtcDateTime);
            }
            catch (Exception e) when (e is ArgumentException or CryptographicException or IOException or UnauthorizedAccessException)
            {
                throw new SmartException("The app's private key could not be used (SmartApp:Ehrs PrivateKeyPem/PrivateKeyFile).");
            }
        }
        else
        {
            // client_secret_basic (RFC 6749 §2.3.1): id and secret form-url-encoded before base64.
            basic = Uri.EscapeDataString(ehr.ClientId) + ":" + Uri.EscapeDataString(ehr.ClientSecret);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new FormUrlEncodedContent(form) };
        if (basic is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(basic)));
        request.Headers.Accept.ParseAdd("application/json");
        return await SendAsync(request, cancellationToken);
    }

    private async Task<JsonObject> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var http = factory.CreateClient(HttpClientName);
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new SmartException($"{request.RequestUri!.GetLeftPart(UriPartial.Path)} answered {(int)response.StatusCode}.");
            }

            return JsonNode.Parse(body) as JsonObject ?? throw new SmartException($"{request.RequestUri!.GetLeftPart(UriPartial.Path)} did not answer a JSON object.");
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new SmartException($"{request.RequestUri!.GetLeftPart(UriPartial.Path)} could not be read ({e.GetType().Name}).");
        }
    }

    private static string? Text(JsonObject json, string name) => json[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? (string)v! : null;

    private static Uri? AbsoluteUrl(JsonObject json, string name) =>
        Text(json, name) is { } s && Uri.TryCreate(s, UriKind.Absolute, out var u) && u.Scheme is "https" or "http" ? u : null;

    /// <summary>RFC 7636 §4.2: code_challenge = BASE64URL(SHA256(ASCII(code_verifier))).</summary>
    public static string S256(string verifier) => Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));

    public static string RandomToken() => Base64Url(RandomNumberGenerator.GetBytes(32));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
