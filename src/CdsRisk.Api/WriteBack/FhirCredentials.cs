using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text.Json;
using CdsRisk.Api.Auth;
using CdsRisk.Api.Fhir;
using CdsRisk.Api.Hooks;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.WriteBack;

/// <summary>
/// Bearer tokens for writing to a FHIR server. A hook's own token writes only that hook's own write-back: it is held in memory
/// (never stored, CDS Hooks 2.0 §fhirAuthorization) under the outbox item it came with, for that item's server and patient, until
/// the item is written or the token expires — never for another patient, user or server. Otherwise a configured SMART Backend
/// Services client gets one.
/// </summary>
public sealed class FhirCredentials(IOptions<WriteBackOptions> options, IHttpClientFactory httpClients, TimeProvider time)
{
    public const string TokenClient = "cdsrisk-token";

    /// <summary>Longest hook token held (bytes of text); a longer one is not kept.</summary>
    public const int MaxHookTokenLength = 16 * 1024;

    /// <summary>Most items holding a hook token at once; past it the token that expires first is let go.</summary>
    public const int MaxHeldTokens = 10_000;

    private readonly ConcurrentDictionary<string, HeldToken> _hookTokens = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (string Token, DateTimeOffset Expires)> _backendTokens = new(StringComparer.Ordinal);

    private sealed record HeldToken(string Token, string FhirServer, DateTimeOffset Expires);

    /// <summary>
    /// Holds a hook's token for the write-back it asked for (outbox item <paramref name="itemId"/>), when the token can write
    /// RiskAssessments (its scope), is for this patient (its <c>patient</c>, when given) and is of a sane size. True when held.
    /// </summary>
    public bool HoldHookToken(string itemId, string fhirServer, string patientId, FhirAuthorization? authorization)
    {
        if (authorization is not { AccessToken: { Length: > 0 and <= MaxHookTokenLength } token }
            || !CanWrite(authorization.Scope)
            || (authorization.Patient is { Length: > 0 } scoped && !string.Equals(scoped, patientId, StringComparison.Ordinal)))
        {
            return false;
        }

        var now = time.GetUtcNow();
        var expires = now.AddSeconds(Math.Clamp(authorization.ExpiresIn ?? 300, 0L, 3600L));
        if (_hookTokens.Count >= MaxHeldTokens && !_hookTokens.ContainsKey(itemId))
        {
            foreach (var expired in _hookTokens.Where(e => e.Value.Expires <= now).Select(e => e.Key).ToList())
            {
                _hookTokens.TryRemove(expired, out _);
            }

            if (_hookTokens.Count >= MaxHeldTokens && _hookTokens.MinBy(e => e.Value.Expires) is { Key: { } first })
            {
                _hookTokens.TryRemove(first, out _);
            }
        }

        _hookTokens[itemId] = new HeldToken(token, Normalise(fhirServer), expires);
        return true;
    }

    /// <summary>Lets go of the hook token held for an item (written, refused for good, or nothing to write).</summary>
    public void Release(string itemId) => _hookTokens.TryRemove(itemId, out _);

    /// <summary>How many hook tokens are held now (for tests and metrics).</summary>
    public int HeldTokenCount => _hookTokens.Count;

    /// <summary>A token to write outbox item <paramref name="itemId"/> to <paramref name="fhirServer"/>: the hook's own, else a backend client's; null when none can be had now.</summary>
    public async Task<string?> GetWriteTokenAsync(string itemId, string fhirServer, CancellationToken cancellationToken)
    {
        var key = Normalise(fhirServer);
        var now = time.GetUtcNow();
        if (_hookTokens.TryGetValue(itemId, out var held))
        {
            if (held.Expires > now.AddSeconds(5) && string.Equals(held.FhirServer, key, StringComparison.Ordinal))
            {
                return held.Token;
            }

            _hookTokens.TryRemove(itemId, out _);
        }

        var client = options.Value.BackendClients.FirstOrDefault(c => AllowedBaseUrls.Parse([c.FhirServer]).Admits(new Uri(key)));
        if (client is null)
        {
            return null;
        }

        return await GetBackendTokenAsync(client, key, cancellationToken);
    }

    /// <summary>A token from a configured backend client (cached until shortly before it expires).</summary>
    public async Task<string?> GetBackendTokenAsync(BackendClientOptions client, string fhirServer, CancellationToken cancellationToken)
    {
        var key = Normalise(fhirServer);
        if (!AllowedBaseUrls.Parse([client.FhirServer]).Admits(new Uri(key)))
        {
            return null;
        }

        if (client.AccessToken is { Length: > 0 } fixedToken)
        {
            return fixedToken;
        }

        if (_backendTokens.TryGetValue(client.ClientId + "|" + key, out var cached) && cached.Expires > time.GetUtcNow().AddSeconds(30))
        {
            return cached.Token;
        }

        var token = await RequestBackendTokenAsync(client, cancellationToken);
        if (token is not null)
        {
            _backendTokens[client.ClientId + "|" + key] = token.Value;
        }

        return token?.Token;
    }

    /// <summary>Forgets a token the server refused (401/403), so the next attempt asks for another.</summary>
    public void Forget(string itemId, string token)
    {
        if (_hookTokens.TryGetValue(itemId, out var hook) && hook.Token == token) _hookTokens.TryRemove(itemId, out _);
        foreach (var entry in _backendTokens.Where(e => e.Value.Token == token).ToList()) _backendTokens.TryRemove(entry.Key, out _);
    }

    /// <summary>SMART scopes that let us create RiskAssessment (v1 <c>.write</c>/<c>.*</c>, v2 <c>.c</c>/<c>.cruds</c>), on user, patient or system level.</summary>
    public static bool CanWrite(string? scope)
    {
        if (string.IsNullOrWhiteSpace(scope))
        {
            return false;
        }

        // Read in place: this runs on every hook that carries a token.
        var all = scope.AsSpan();
        foreach (var range in all.Split(' '))
        {
            var s = all[range];
            var slash = s.IndexOf('/');
            if (slash < 0 || s[..slash] is not ("user" or "patient" or "system")) continue;
            var rest = s[(slash + 1)..];
            var dot = rest.IndexOf('.');
            if (dot < 0 || rest[..dot] is not ("RiskAssessment" or "*")) continue;
            var access = rest[(dot + 1)..];
            if (access.IndexOf('?') is var query and >= 0)
            {
                access = access[..query];
            }

            if (access is "write" or "*" || (access.Length > 0 && !access.ContainsAnyExcept("cruds") && access.Contains('c')))
            {
                return true;
            }
        }

        return false;
    }

    private async Task<(string Token, DateTimeOffset Expires)?> RequestBackendTokenAsync(BackendClientOptions client, CancellationToken cancellationToken)
    {
        var pem = client.PrivateKeyPem ?? (client.PrivateKeyFile is { } file ? await File.ReadAllTextAsync(file, cancellationToken) : null);
        if (pem is null)
        {
            return null;
        }

        // SMART Backend Services: client_credentials with a signed JWT assertion (iss = sub = client_id, aud = token URL, exp ≤ 5 min).
        var assertion = ClientAssertion.Create(client.ClientId, client.TokenUrl, pem, client.Algorithm, client.KeyId, time.GetUtcNow().UtcDateTime);

        using var http = httpClients.CreateClient(TokenClient);
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["scope"] = client.Scope,
            ["client_assertion_type"] = ClientAssertion.Type,
            ["client_assertion"] = assertion,
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, client.TokenUrl) { Content = form };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            return null;
        }

        using var json = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
        if (!json.RootElement.TryGetProperty("access_token", out var tokenElement) || tokenElement.GetString() is not { Length: > 0 } token)
        {
            return null;
        }

        var expiresIn = json.RootElement.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var seconds) ? seconds : 300;
        return (token, time.GetUtcNow().AddSeconds(expiresIn));
    }

    private static string Normalise(string fhirServer) => fhirServer.TrimEnd('/') + "/";
}
