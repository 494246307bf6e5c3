using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using CdsRisk.Api.Auth;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.App;

/// <summary>
/// SMART App Launch 2.0: EHR launch (<c>/app/launch?iss&amp;launch</c>), standalone launch (<c>/app/login?iss</c>) and the redirect back
/// (<c>/app/callback</c>). Authorization code with PKCE S256; <c>state</c> bound to this browser by an encrypted, short-lived cookie.
/// </summary>
public static partial class SmartLaunchEndpoints
{
    private const string LaunchCookie = "cdsrisk.app.launch";
    private const string Purpose = "CdsRisk.App.Launch.v1";

    private sealed record PendingLaunch(string State, string Verifier, string Issuer, string TokenEndpoint, string? IntrospectionEndpoint, string RedirectUri, bool Standalone,
        string? Nonce, string? OidcIssuer, string? JwksUri);

    [GeneratedRegex("^[A-Za-z0-9._~-]{1,128}$")]
    private static partial Regex SafeId();

    public static Task<IResult> EhrLaunchAsync(HttpContext http, SmartClient smart, IDataProtectionProvider protection, IOptions<SmartAppOptions> options,
        IOptions<AuthOptions> auth, string? iss, string? launch, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(launch))
        {
            return Task.FromResult(AppPages.Status(StatusCodes.Status400BadRequest, "Launch refused", "The EHR launch carries no launch parameter."));
        }

        return StartAsync(http, smart, protection, options.Value, auth.Value, iss, launch, cancellationToken);
    }

    public static Task<IResult> StandaloneLaunchAsync(HttpContext http, SmartClient smart, IDataProtectionProvider protection, IOptions<SmartAppOptions> options,
        IOptions<AuthOptions> auth, string? iss, CancellationToken cancellationToken) =>
        StartAsync(http, smart, protection, options.Value, auth.Value, iss, null, cancellationToken);

    private static async Task<IResult> StartAsync(HttpContext http, SmartClient smart, IDataProtectionProvider protection, SmartAppOptions options, AuthOptions auth,
        string? iss, string? launch, CancellationToken cancellationToken)
    {
        // The allow-list: an iss no EHR entry names is never contacted (no discovery request to an arbitrary URL).
        var ehr = smart.FindEhr(iss);
        if (ehr is null)
        {
            return AppPages.Status(StatusCodes.Status400BadRequest, "Launch refused", "This EHR (iss) is not configured to launch the app.");
        }

        SmartConfiguration configuration;
        try
        {
            configuration = await smart.DiscoverAsync(ehr, cancellationToken);
        }
        catch (SmartException e)
        {
            return AppPages.Status(StatusCodes.Status502BadGateway, "Launch failed", "The EHR's SMART configuration could not be used: " + e.Message);
        }

        var redirectUri = BaseUrl(http, auth) + "/app/callback";
        var scope = launch is null ? ehr.StandaloneScope : ehr.EhrLaunchScope;
        var openId = scope.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains("openid", StringComparer.Ordinal);
        var pending = new PendingLaunch(SmartClient.RandomToken(), SmartClient.RandomToken(), ehr.Issuer.TrimEnd('/'), configuration.TokenEndpoint.AbsoluteUri,
            configuration.IntrospectionEndpoint?.AbsoluteUri, redirectUri, launch is null,
            openId ? SmartClient.RandomToken() : null, configuration.OidcIssuer, configuration.JwksUri?.AbsoluteUri);
        var protector = protection.CreateProtector(Purpose).ToTimeLimitedDataProtector();
        http.Response.Cookies.Append(LaunchCookie, protector.Protect(JsonSerializer.Serialize(pending), TimeSpan.FromSeconds(options.LaunchSeconds)), new CookieOptions
        {
            HttpOnly = true,
            Path = "/app",
            Secure = http.Request.IsHttps,
            SameSite = Enum.Parse<SameSiteMode>(options.SameSite),
            MaxAge = TimeSpan.FromSeconds(options.LaunchSeconds),
        });

        var query = new Dictionary<string, string?>
        {
            ["response_type"] = "code",
            ["client_id"] = ehr.ClientId,
            ["redirect_uri"] = redirectUri,
            ["scope"] = scope,
            ["state"] = pending.State,
            ["aud"] = ehr.Issuer.TrimEnd('/'), // SMART 2.0: aud = the FHIR base URL the token is for
            ["code_challenge"] = SmartClient.S256(pending.Verifier),
            ["code_challenge_method"] = "S256",
        };
        if (launch is not null) query["launch"] = launch;
        if (pending.Nonce is not null) query["nonce"] = pending.Nonce; // OpenID Connect Core §3.1.2.1: bound to this launch's id_token
        return Results.Redirect(Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString(configuration.AuthorizationEndpoint.AbsoluteUri, query));
    }

    public static async Task<IResult> CallbackAsync(HttpContext http, SmartClient smart, IntrospectionCache introspections, IDataProtectionProvider protection,
        string? code, string? state, string? error, CancellationToken cancellationToken)
    {
        var cookie = http.Request.Cookies[LaunchCookie];
        http.Response.Cookies.Delete(LaunchCookie, new CookieOptions { Path = "/app" }); // one use
        PendingLaunch? pending = null;
        try
        {
            if (cookie is not null)
            {
                pending = JsonSerializer.Deserialize<PendingLaunch>(protection.CreateProtector(Purpose).ToTimeLimitedDataProtector().Unprotect(cookie));
            }
        }
        catch (Exception e) when (e is CryptographicException or JsonException)
        {
            pending = null;
        }

        // state must be the one this browser was given (RFC 6749 §10.12): another browser's callback, a replay or a forged one stops here.
        if (pending is null || state is null || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(state), Encoding.UTF8.GetBytes(pending.State)))
        {
            return AppPages.Status(StatusCodes.Status400BadRequest, "Launch refused", "This sign-in was not started in this browser, or it took too long. Launch the app again.");
        }

        if (error is not null || code is null)
        {
            return AppPages.Status(StatusCodes.Status403Forbidden, "Launch refused", "The EHR did not authorize the app" + (error is null ? "." : $" ({error})."));
        }

        var ehr = smart.FindEhr(pending.Issuer);
        if (ehr is null || pending.IntrospectionEndpoint is null)
        {
            return AppPages.Status(StatusCodes.Status400BadRequest, "Launch refused", "The EHR offers no token introspection, so the app cannot check its token.");
        }

        try
        {
            var tokenEndpoint = new Uri(pending.TokenEndpoint);
            var token = await smart.ExchangeCodeAsync(ehr, tokenEndpoint, code, pending.RedirectUri, pending.Verifier, cancellationToken);

            // With openid granted the id_token names the user; one that fails a check refuses the launch (OIDC Core §3.1.3.7).
            string? idTokenUser = null;
            if (token.Granted("openid"))
            {
                try
                {
                    idTokenUser = await smart.ValidateIdTokenAsync(ehr, pending.OidcIssuer, pending.JwksUri is null ? null : new Uri(pending.JwksUri), token.IdToken, pending.Nonce,
                        cancellationToken);
                }
                catch (SmartException e)
                {
                    return AppPages.Status(StatusCodes.Status403Forbidden, "Launch refused", e.Message);
                }
            }

            var check = await introspections.GetAsync(ehr.Issuer, token.AccessToken,
                c => smart.IntrospectAsync(ehr, new Uri(pending.IntrospectionEndpoint), tokenEndpoint, token.AccessToken, c), cancellationToken);
            if (!check.Active || check.ClientId != ehr.ClientId)
            {
                return AppPages.Status(StatusCodes.Status403Forbidden, "Launch refused", "The EHR's token is not active for this app.");
            }

            // The patient the app may show is the one both the token response and the EHR's check name.
            if (!string.Equals(check.Patient, token.Patient, StringComparison.Ordinal) || (token.Patient is not null && !SafeId().IsMatch(token.Patient)))
            {
                return AppPages.Status(StatusCodes.Status403Forbidden, "Launch refused", "The token's patient context could not be confirmed.");
            }

            var principal = SmartAppServiceCollectionExtensions.Principal(ehr, token, check, idTokenUser);
            if (token.Patient is null && !principal.HasRole())
            {
                return AppPages.Status(StatusCodes.Status403Forbidden, "Not permitted",
                    "A launch without a patient opens the screening log, which needs a trial-team or auditor role in the EHR.");
            }

            var properties = new AuthenticationProperties { IsPersistent = false, ExpiresUtc = DateTimeOffset.UtcNow.AddSeconds(token.ExpiresIn) };
            properties.StoreTokens([
                new AuthenticationToken { Name = AppSchemes.AccessTokenName, Value = token.AccessToken },
                new AuthenticationToken { Name = AppSchemes.IntrospectionName, Value = pending.IntrospectionEndpoint },
                new AuthenticationToken { Name = AppSchemes.TokenEndpointName, Value = pending.TokenEndpoint },
            ]);
            await http.SignInAsync(AppSchemes.Cookie, principal, properties);

            var assessment = AssessmentOf(token.AppContext);
            return Results.Redirect(assessment is not null ? "/app/assessments/" + Uri.EscapeDataString(assessment)
                : token.Patient is null ? "/app/screening-log" : "/app/");
        }
        catch (SmartException e)
        {
            return AppPages.Status(StatusCodes.Status502BadGateway, "Launch failed", e.Message);
        }
    }

    /// <summary>The card's <c>appContext</c> (<c>{"assessment":"&lt;hookInstance&gt;"}</c>, CDS Hooks 2.0 §Link) names the assessment to open.</summary>
    internal static string? AssessmentOf(string? appContext)
    {
        if (appContext is null) return null;
        try
        {
            using var doc = JsonDocument.Parse(appContext);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("assessment", out var a)
                && a.ValueKind == JsonValueKind.String && SafeId().IsMatch(a.GetString()!) ? a.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string BaseUrl(HttpContext http, AuthOptions auth) =>
        !string.IsNullOrEmpty(auth.PublicBaseUrl) ? auth.PublicBaseUrl.TrimEnd('/') : $"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}";
}
