using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.App;

/// <summary>The endpoints an EHR's <c>.well-known/smart-configuration</c> names (SMART App Launch 2.0 §2.1).</summary>
public sealed record SmartConfiguration(Uri AuthorizationEndpoint, Uri TokenEndpoint, Uri? IntrospectionEndpoint);

/// <summary>What the token endpoint answered (SMART App Launch 2.0 §"Obtain access token").</summary>
public sealed record SmartToken(string AccessToken, int ExpiresIn, string Scope, string? Patient, string? AppContext);

/// <summary>An introspection answer (RFC 7662) with SMART's additions.</summary>
public sealed record SmartIntrospection(bool Active, string? ClientId, string? Patient, string? FhirUser, IReadOnlyList<string> Roles, long? Exp);

public sealed class SmartException(string message) : Exception(message);

/// <summary>HTTP calls of the app to an EHR: discovery, token, introspection, FHIR reads with the launch's token.</summary>
public sealed class SmartClient(IHttpClientFactory factory, IOptions<SmartAppOptions> options)
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

        return new SmartConfiguration(authorize, token, AbsoluteUrl(json, "introspection_endpoint"));
    }

    public async Task<SmartToken> ExchangeCodeAsync(SmartEhrOptions ehr, Uri tokenEndpoint, string code, string redirectUri, string verifier, CancellationToken cancellationToken)
    {
        var json = await PostFormAsync(ehr, tokenEndpoint, new Dictionary<string, string>
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
        return new SmartToken(access, expires, Text(json, "scope") ?? "", Text(json, "patient"), appContext);
    }

    public async Task<SmartIntrospection> IntrospectAsync(SmartEhrOptions ehr, Uri introspectionEndpoint, string token, CancellationToken cancellationToken)
    {
        var json = await PostFormAsync(ehr, introspectionEndpoint, new Dictionary<string, string> { ["token"] = token }, cancellationToken);
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

    private async Task<JsonObject> PostFormAsync(SmartEhrOptions ehr, Uri url, Dictionary<string, string> form, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new FormUrlEncodedContent(form) };
        // client_secret_basic (RFC 6749 §2.3.1): id and secret form-url-encoded before base64.
        var basic = Uri.EscapeDataString(ehr.ClientId) + ":" + Uri.EscapeDataString(ehr.ClientSecret);
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(basic)));
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
